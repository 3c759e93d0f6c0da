"""Every route of the API served once, by a web process that never analyses; then which modules it loaded.

``python -m tests.web_probe MAIL PASSWORD LIB UPLOAD`` builds the app from the environment (``DATA_DIR``,
``DATABASE_URL``; ``ANALYSIS_IN_PROCESS`` off, as in gunicorn), sends each route of its URL map at least one request
with the Flask test client (as the account ``MAIL``, on its analysed library ``LIB``; ``UPLOAD`` is an audio file
to upload, which the web process must queue and not analyse), and prints JSON: the status of each request, the routes
that no request reached, the TensorFlow or Keras modules in ``sys.modules`` and the process's peak RSS.
"""

from __future__ import annotations

import io
import json
import resource
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

Call = Callable[..., tuple[int, Any]]


def heavy_modules() -> list[str]:
    """The TensorFlow and Keras modules loaded in this process."""
    return sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras", "tensorboard"))


def visit(call: Call, mail: str, password: str, lib: str, upload: Path) -> list[tuple[str, str, int]]:
    """Send one request to each route (reads first, then writes, deletions last): ``[(method, path, status)]``."""
    out: list[tuple[str, str, int]] = []

    def go(method: str, path: str, **kw: Any) -> Any:
        status, body = call(method, path, **kw)
        out.append((method, path, status))
        return body

    token = go("POST", "/login", data={"mail": mail, "password": password})["token"]
    auth = {"Authorization": f"Bearer {token}"}
    listing = go("GET", f"/get/library/{lib}", headers=auth)
    names = sorted(s["name"] for s in listing["samples"])
    first, second = (quote(n, safe="/") for n in names[:2])
    for path in ("/health", "/openapi.json", "/", "/libraries", "/libraries/x", "/login", "/register"):
        go("GET", path)
    for path in (
        "/get/libraries",
        f"/tags/{lib}",
        f"/analyze/{lib}",
        f"/search/{lib}?q=hit",
        f"/waveforms/{lib}",
        f"/waveform/{lib}/{first}",
        f"/map/{lib}",
        f"/similar/{lib}/{first}?n=3",
        f"/sample/{lib}/{first}",
        f"/recommendations/{lib}",
        f"/recommendations/{lib}/explained",
        f"/duplicates/{lib}",
        f"/corrections/{lib}",
        f"/suggestions/{lib}",
        f"/usertags/{lib}/preview?reach=wide",
        f"/export/{lib}",
        f"/audio/{lib}/{first}",
    ):
        go("GET", path, headers=auth)
    job = go("GET", f"/analyze/{lib}", headers=auth)["job"]
    go("GET", f"/jobs/{job}", headers=auth)
    url = go("GET", f"/audio-url/{lib}/{first}", headers=auth)["url"]
    go("GET", urlsplit(url).path + "?" + urlsplit(url).query)
    go("POST", f"/export-url/{lib}", headers=auth, json={"favorite": False})
    go("POST", f"/recommendations/{lib}", headers=auth)
    go("PUT", f"/sampletag/update/{lib}/{first}", headers=auth, json={"tags": ["probe"]})
    go("PUT", f"/samplefavorite/update/{lib}/{first}", headers=auth, json={"isFavorite": True})
    go("PUT", f"/sampleclass/update/{lib}/{first}", headers=auth, json={"class": "Tom"})
    go("PUT", f"/samplebpm/update/{lib}/{first}", headers=auth, json={"bpm": 120})
    go("POST", f"/usertags/{lib}", headers=auth, json=[{"name": names[0], "customTags": ["probe"]}])
    go("POST", f"/usertags/{lib}/reach", headers=auth, json={"reach": "wide"})
    go("POST", f"/suggestions/{lib}/accept", headers=auth, json={"all": True})
    go("POST", f"/suggestions/{lib}/reject", headers=auth, json={"all": True})
    go("DELETE", f"/corrections/{lib}/{first}", headers=auth)
    go("POST", f"/duplicates/{lib}/resolve", headers=auth, json={"keep": names[0], "remove": [names[1]]})
    go("POST", f"/upload/{lib}", headers=auth, files={"file": (upload.name, upload.read_bytes())})
    go("GET", f"/tags/{lib}", headers=auth)  # a pending sample now: the request waits for a worker, never analyses
    go("POST", "/library/Probe", headers=auth)
    go("PATCH", "/library/Probe", headers=auth, json={"name": "Probe2"})
    go("DELETE", "/library/Probe2", headers=auth)
    go("DELETE", f"/sample/{lib}/{second}", headers=auth)
    go("POST", "/register", data={"mail": "probe-" + mail, "password": password + " probe"})
    refresh = go("POST", "/login", data={"mail": mail, "password": password})["refreshToken"]
    go("POST", "/refresh", headers={"Authorization": f"Bearer {refresh}"})
    go("POST", "/logout", headers=auth)
    return out


def main() -> int:
    """Build the app from the environment, visit every route, print the JSON report."""
    from backend import create_app

    mail, password, lib, upload = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])
    app = create_app(test_config={"ANALYSIS_IN_PROCESS": False})
    client = app.test_client()
    adapter = app.url_map.bind("localhost")

    def call(method: str, path: str, **kw: Any) -> tuple[int, Any]:
        if "files" in kw:
            name, content = kw.pop("files")["file"]
            kw["data"] = {"file": (io.BytesIO(content), name)}
            kw["content_type"] = "multipart/form-data"
        response = client.open(path, method=method, **kw)
        return response.status_code, response.get_json(silent=True)

    visited = visit(call, mail, password, lib, upload)
    reached = set()
    for method, path, _ in visited:
        endpoint, _args = adapter.match(urlsplit(path).path, method=method)
        reached.add((endpoint, method))
    routes = {(rule.endpoint, m) for rule in app.url_map.iter_rules() for m in rule.methods - {"HEAD", "OPTIONS"}}
    report = {
        "requests": visited,
        "unreached": sorted(f"{method} {endpoint}" for endpoint, method in routes - reached),
        "heavyModules": heavy_modules(),
        "peakRssMb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
