"""The built web app served from the API's origin: its page for / and its client-side routes, its files with the
right caching, nothing outside its folder, and every API route (and its 404s and 405s) as before."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from backend.services.web_app import CONTENT_SECURITY_POLICY, IMMUTABLE, NOT_BUILT
from tests.backend.conftest import AppFactory, register

PAGE = b"<!doctype html><html><head><script src=main-ABC123.js type=module></script></head></html>\n"
SCRIPT = b"console.log('drumsampler');\n"
FONT = b"wOF2 font bytes"
DEEP_LINKS = [
    "/",
    "/login",
    "/register",
    "/libraries",
    "/libraries/",
    "/libraries/My%20Kit",
    "/libraries/a/b/c.wav",
    "/libraries/line%0Abreak",  # a line break or a control character: still the page (the app says what is missing)
    "/libraries/g%F2%82%BC%9A%C3%AD%5B%18%1A%C2%AC%0At",
]


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A built app as Angular lays it out: index.html, a hashed script and stylesheet, media/, favicon.ico."""
    folder = tmp_path / "browser"
    (folder / "media").mkdir(parents=True)
    (folder / "index.html").write_bytes(PAGE)
    (folder / "main-ABC123.js").write_bytes(SCRIPT)
    (folder / "styles-5ZDPMB3Q.css").write_bytes(b"body{}")
    (folder / "media" / "font-XYZ.woff2").write_bytes(FONT)
    (folder / "favicon.ico").write_bytes(b"\0\0\1\0")
    (folder / ".hidden").write_bytes(b"secret")
    return folder


@pytest.fixture
def web(make_app: AppFactory, dist: Path) -> FlaskClient:
    """A client of an app that serves ``dist``."""
    return make_app(FRONTEND_DIR=str(dist)).test_client()


@pytest.mark.parametrize("path", DEEP_LINKS)
def test_page_for_root_and_client_side_routes(web: FlaskClient, path: str) -> None:
    response = web.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.data == PAGE
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_content_security_policy_allows_what_the_app_needs() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["script-src"] == "'self'"  # no inline scripts, no eval
    assert directives["media-src"] == "'self' blob:"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"


@pytest.mark.parametrize(
    ("path", "mimetype", "body", "cache"),
    [
        ("/main-ABC123.js", "text/javascript", SCRIPT, IMMUTABLE),
        ("/styles-5ZDPMB3Q.css", "text/css", b"body{}", IMMUTABLE),
        ("/media/font-XYZ.woff2", "font/woff2", FONT, IMMUTABLE),
        ("/favicon.ico", "image/vnd.microsoft.icon", b"\0\0\1\0", "no-cache"),
        ("/index.html", "text/html", PAGE, "no-cache"),
    ],
)
def test_files_with_their_type_and_caching(web: FlaskClient, path: str, mimetype: str, body: bytes, cache: str) -> None:
    response = web.get(path)
    assert response.status_code == 200
    assert response.mimetype == mimetype
    assert response.data == body
    assert response.headers["Cache-Control"] == cache
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    head = web.head(path)
    assert head.status_code == 200 and head.data == b""
    assert ("Content-Security-Policy" in response.headers) == path.endswith(".html")


def test_files_revalidate_with_their_etag(web: FlaskClient) -> None:
    first = web.get("/")
    again = web.get("/", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize(
    "path",
    [
        "/..%2f..%2fetc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/%2e%2e%2fsecret.txt",
        "/media/..%2f..%2fsecret.txt",
        "/link.txt",
        "/.hidden",
        "/media",
        "/media/",
        "/main-ABC123.js%00.png",
        "/nope.js",
    ],
)
def test_nothing_outside_the_files_of_the_app(web: FlaskClient, dist: Path, path: str) -> None:
    (dist.parent / "secret.txt").write_bytes(b"secret")
    (dist / "link.txt").symlink_to(dist.parent / "secret.txt")
    response = web.get(path)
    assert response.status_code == 404
    assert set(response.get_json()) == {"message"}


def test_only_get_serves_files(web: FlaskClient) -> None:
    for method in ("post", "put", "delete"):
        response = getattr(web, method)("/main-ABC123.js")
        assert response.status_code == 404
        assert set(response.get_json()) == {"message"}
    assert web.post("/libraries").status_code == 405
    assert web.post("/").status_code == 405


def test_api_routes_keep_their_answers(web: FlaskClient) -> None:
    unknown = web.get("/no/such/route")
    assert unknown.status_code == 404
    assert unknown.mimetype == "application/json"
    assert set(unknown.get_json()) == {"message"}
    assert web.get("/library/x").status_code == 405  # PATCH and DELETE only, as without the app
    assert web.delete("/get/libraries").status_code == 405
    assert web.get("/get/libraries").status_code == 401
    assert web.get("/export/Drums").status_code == 401
    assert web.get("/health").get_json()["database"] is True
    assert "paths" in web.get("/openapi.json").get_json()
    user = register(web)  # POST /register and POST /login still answer tokens
    assert web.post("/login", data={"mail": user.mail, "password": "correct horse battery"}).status_code == 200
    assert user.get("/get/libraries").get_json() == []


def test_not_built_is_503_for_the_page_and_404_for_files(make_app: AppFactory, tmp_path: Path) -> None:
    empty = tmp_path / "not-built"
    empty.mkdir()
    for folder in (empty, tmp_path / "missing"):
        client = make_app(FRONTEND_DIR=str(folder)).test_client()
        for path in DEEP_LINKS:
            response = client.get(path)
            assert response.status_code == 503, path
            assert response.get_json() == {"message": NOT_BUILT}
        assert client.get("/main-ABC123.js").status_code == 404
        assert client.get("/health").status_code == 200


def test_frontend_dir_default_is_the_angular_build(make_app: AppFactory) -> None:
    app = make_app()
    expected = Path(__file__).resolve().parents[2] / "frontend" / "dist" / "drumsampler" / "browser"
    assert app.config["FRONTEND_DIR"] == str(expected)
