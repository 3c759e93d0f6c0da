"""Fixtures of the browser tests: the real server (gunicorn on 127.0.0.1, a fresh DATA_DIR), Debian's Chromium
driven by Playwright, screenshots under ``artifacts/e2e/``, axe-core checks and a generated folder of sounds.

The app under test is the production build (``frontend/dist/drumsampler/browser``), served by the backend at
``/``; the Makefile builds it before these tests run. The UI contract the tests follow is ``UI_CONTRACT.md``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, expect, sync_playwright

from tests.backend.test_restart import Server
from tests.e2e.browser import BLOCKING_IMPACTS, describe_violations, launch, run_axe
from tests.e2e.samples import make_sample_folder
from tests.e2e.server import app_problem, start_server

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "e2e"
VIEWPORT = {"width": 1280, "height": 800}
# Playwright's `expect` waits this long by default (ms): the machine may have 2 cores busy with an analysis.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="session")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """gunicorn serving ``backend.wsgi:app`` (1 worker, ``backend/gunicorn_conf.py``) on a free 127.0.0.1 port."""
    server = start_server(tmp_path_factory.mktemp("e2e-instance"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def server(api_server: Server) -> Server:
    """:func:`api_server`, which must also serve the built app at ``/`` (else the test fails, saying why)."""
    problem = app_problem(api_server.url)
    if problem:
        pytest.fail(problem)
    return api_server


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Headless Debian Chromium, one for the session."""
    try:
        browser = launch(playwright)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield browser
    browser.close()


@pytest.fixture
def console_errors() -> list[str]:
    """The page's console errors and uncaught exceptions (reported when the test fails)."""
    return []


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile per test: 1280x800, downloads accepted."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext, console_errors: list[str]) -> Page:
    page = context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            console_errors.append(f"console.error: {message.text} ({message.location.get('url', '')})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: console_errors.append(f"uncaught: {error}"))
    return page


def artifact_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")


@pytest.fixture(scope="session", autouse=True)
def artifacts() -> Path:
    """``artifacts/e2e/`` at the repository root (screenshots, axe results), emptied of an earlier run's files."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*"):
        if old.is_file():
            old.unlink()
    return ARTIFACTS


@pytest.fixture
def shot(page: Page, artifacts: Path) -> Callable[[str], Path]:
    """``shot(name)``: a full-page screenshot of the test's page as ``artifacts/e2e/<name>.png``."""

    def take(name: str) -> Path:
        path = artifacts / f"{artifact_name(name)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@dataclass
class Axe:
    """``axe(page, name)`` runs axe-core on the page and records its serious and critical violations;
    ``assert_clean()`` fails listing them all (so one test can check several screens and report every one)."""

    artifacts: Path
    found: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def __call__(self, page: Page, name: str) -> list[dict[str, Any]]:
        violations = run_axe(page)
        (self.artifacts / f"axe-{artifact_name(name)}.txt").write_text(describe_violations(violations) + "\n")
        blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
        if blocking:
            self.found[name] = blocking
        return blocking

    def assert_clean(self) -> None:
        if self.found:
            report = "\n".join(f"== {name}\n{describe_violations(v)}" for name, v in self.found.items())
            raise AssertionError(f"axe-core: serious or critical accessibility violations\n{report}")


@pytest.fixture
def axe(artifacts: Path) -> Axe:
    return Axe(artifacts)


@pytest.fixture(scope="session")
def sample_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``Samples/``: 19 generated drum sounds in sub-folders (equal base names in different kits) and one file
    that is not audio (``Kits/broken.wav``); see ``tests/e2e/samples.py``."""
    return make_sample_folder(tmp_path_factory.mktemp("e2e-sounds") / "Samples")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On a failure: the page's console errors in the report and a screenshot ``artifacts/e2e/FAILED-<test>.png``."""
    report = yield
    if report.when == "call" and report.failed:
        funcargs = getattr(item, "funcargs", {})
        errors = funcargs.get("console_errors")
        if errors:
            report.sections.append(("browser console errors", "\n".join(errors)))
        page = funcargs.get("page")
        if isinstance(page, Page) and not page.is_closed():
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            path = ARTIFACTS / f"FAILED-{artifact_name(item.name)}.png"
            try:
                page.screenshot(path=str(path), full_page=True)
                report.sections.append(("screenshot", f"{path} (at {page.url})"))
            except Exception as exc:  # the page may be gone with the failure
                report.sections.append(("screenshot", f"none: {exc}"))
    return report
