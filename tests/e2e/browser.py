"""Chromium for the browser tests and ``bench/ui.py``: Debian's ``chromium`` driven by Playwright, and axe-core.

``playwright install`` downloads browsers from a CDN; Debian's package (``tools/install_debian.sh chromium``) is
used instead, through ``executable_path``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, Playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",  # the AudioContext runs without a click first
]
# axe-core is a devDependency of the frontend; AXE_JS points elsewhere (e.g. `npm install --prefix /tmp/axe axe-core`).
DEFAULT_AXE_JS = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "best-practice"]
BLOCKING_IMPACTS = ("serious", "critical")


def chromium_path() -> str:
    """The Chromium executable (``CHROMIUM`` or ``chromium`` on the PATH)."""
    path = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError("Chromium is missing: run tools/install_debian.sh chromium (or set CHROMIUM=/path/to/it)")
    return path


def launch(playwright: Playwright) -> Browser:
    """Headless Debian Chromium."""
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)


def axe_js() -> Path:
    """axe-core's ``axe.min.js`` (``AXE_JS``, else the frontend's devDependency)."""
    path = Path(os.environ.get("AXE_JS") or DEFAULT_AXE_JS)
    if not path.is_file():
        raise RuntimeError(
            f"axe-core is missing at {path}: run make frontend (axe-core is a devDependency of the "
            "frontend) or set AXE_JS to an axe.min.js"
        )
    return path


def run_axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2 A/AA and best-practice checks of the page as it is: the violations.

    The source is evaluated through the DevTools protocol, not added as a ``<script>``: the app's
    Content-Security-Policy (``script-src 'self'``) refuses inline scripts, and it should stay on under test.
    """
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_js().read_text())
    return page.evaluate(
        """async (tags) => {
            const result = await window.axe.run(document, {runOnly: tags});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map(n => ({target: n.target, summary: n.failureSummary})),
            }));
        }""",
        AXE_TAGS,
    )


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """One paragraph per violation: impact, id, help and the target nodes."""
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:10]:
            lines.append(f"    {' '.join(str(t) for t in node['target'])}")
        if len(v["nodes"]) > 10:
            lines.append(f"    ... and {len(v['nodes']) - 10} more nodes")
    return "\n".join(lines)
