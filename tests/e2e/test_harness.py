"""The parts the browser journey stands on, checked without the app: the server and the generated folder of
sounds, Chromium (directory uploads, a running AudioContext) and the axe-core check under the app's CSP."""

from __future__ import annotations

from pathlib import Path

import requests
from playwright.sync_api import Page, Route

from tests.backend.test_restart import Server
from tests.e2e.conftest import Axe
from tests.e2e.samples import BROKEN, SOUNDS

STRONG_PASSWORD = "kick snare hat 909"


def files_of(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_the_server_stores_the_sample_folder_and_rejects_the_bad_file(api_server: Server, sample_folder: Path) -> None:
    health = requests.get(f"{api_server.url}/health", timeout=30)
    assert health.status_code == 200 and health.json()["database"] is True, health.text
    register = requests.post(
        f"{api_server.url}/register", data={"mail": "harness@example.org", "password": STRONG_PASSWORD}, timeout=30
    )
    assert register.status_code == 200, register.text
    auth = {"Authorization": f"Bearer {register.json()['token']}"}
    files = files_of(sample_folder)
    paths = [p.relative_to(sample_folder).as_posix() for p in files]
    assert sorted(paths) == sorted([*SOUNDS, BROKEN])
    response = requests.post(
        f"{api_server.url}/upload/Harness",
        files=[("file", (p.name, p.read_bytes(), "audio/wav")) for p in files],
        data=[("path", path) for path in paths],
        headers=auth,
        timeout=120,
    )
    assert response.status_code == 200, response.text
    outcome = {f["path"]: f for f in response.json()["files"]}
    assert {path: f["status"] for path, f in outcome.items()} == {
        **{path: "stored" for path in SOUNDS},
        BROKEN: "rejected",
    }, response.text
    assert "not a supported audio file" in outcome[BROKEN]["message"]
    listed = requests.get(f"{api_server.url}/search/Harness", params={"limit": 1000}, headers=auth, timeout=30).json()
    assert sorted(s["path"] for s in listed["samples"]) == sorted(SOUNDS)
    assert {"Kits/909/kick.wav", "Kits/808/kick.wav"} <= {s["path"] for s in listed["samples"]}


def test_a_folder_input_gets_every_file_with_its_relative_path(page: Page, sample_folder: Path) -> None:
    page.set_content('<input type="file" data-testid="folder-input" webkitdirectory multiple>')
    page.locator("input[data-testid=folder-input]").set_input_files(sample_folder)
    relative = page.evaluate(
        "() => [...document.querySelector('input[data-testid=folder-input]').files].map(f => f.webkitRelativePath)"
    )
    expected = [f"{sample_folder.name}/{p.relative_to(sample_folder).as_posix()}" for p in files_of(sample_folder)]
    assert sorted(relative) == sorted(expected)


def test_chromium_runs_an_audio_context_without_a_gesture(page: Page) -> None:
    page.set_content("<p>audio</p>")
    state = page.evaluate(
        """async () => {
            const context = new AudioContext();
            const source = context.createOscillator();
            source.connect(context.destination);
            source.start();
            source.stop(context.currentTime + 0.05);
            await new Promise(done => source.onended = done);
            return context.state;
        }"""
    )
    assert state == "running"


def test_axe_runs_under_the_apps_csp_and_reports_violations(page: Page, axe: Axe) -> None:
    pages = {
        "http://e2e.test/good": "<main><h1>Sounds</h1><img src='data:,' alt='a waveform'></main>",
        "http://e2e.test/bad": "<main><h1>Sounds</h1><img src='data:,'><button></button></main>",
    }

    def serve(route: Route) -> None:
        body = f"<!doctype html><html lang='en'><head><title>t</title></head><body>{pages[route.request.url]}</body>"
        # the header of the app's index.html (backend/services/web_app.py): no inline scripts
        csp = "default-src 'self'; script-src 'self'; img-src 'self' data:; object-src 'none'"
        route.fulfill(status=200, content_type="text/html", body=body, headers={"Content-Security-Policy": csp})

    page.route("http://e2e.test/*", serve)
    page.goto("http://e2e.test/good")
    assert axe(page, "harness-good") == []
    axe.assert_clean()
    page.goto("http://e2e.test/bad")
    found = {v["id"] for v in axe(page, "harness-bad")}
    assert {"image-alt", "button-name"} <= found
    try:
        axe.assert_clean()
    except AssertionError as exc:
        assert "image-alt" in str(exc) and "img" in str(exc)
    else:
        raise AssertionError("assert_clean passed over critical violations")
