"""Reading the app's screens as ``UI_CONTRACT.md`` describes them (shared by the browser tests and ``bench/ui.py``)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests
from playwright.sync_api import Locator, Page

SAMPLE_ROW = "[data-testid=sample-row]"
# `[data-testid=result-count]` reads "12 of 30 sounds" (digits may be grouped: "10,000", "10 000").
COUNT_JS = r"""() => {
    const el = document.querySelector('[data-testid=result-count]');
    const m = el && el.textContent.match(/(\d[\d,.\s\u00a0\u202f]*)\s+of\s+(\d[\d,.\s\u00a0\u202f]*)/);
    return m ? [Number(m[1].replace(/\D/g, '')), Number(m[2].replace(/\D/g, ''))] : null;
}"""
# Every row of the virtually scrolled table: scrolls its scrolling element from top to bottom, collecting the rows
# rendered at each position, then scrolls back.
ALL_ROWS_JS = r"""async () => {
    const table = document.querySelector('[data-testid=sample-table]');
    if (!table) return null;
    const frames = (n) => new Promise(done => {
        const next = (k) => k ? requestAnimationFrame(() => next(k - 1)) : done();
        next(n);
    });
    // an element's text without its icons (a Material icon's text is its ligature's name: "check")
    const text = (el) => {
        if (!el) return null;
        const copy = el.cloneNode(true);
        copy.querySelectorAll('mat-icon, .mat-icon, [aria-hidden=true]').forEach(e => e.remove());
        return copy.textContent.replace(/\s+/g, ' ').trim();
    };
    const info = (row) => ({
        path: row.dataset.path,
        index: Number(row.getAttribute('aria-rowindex') ?? NaN),
        classChip: text(row.querySelector('[data-testid=class-chip]')),
        bpm: text(row.querySelector('[data-testid=bpm]')),
        tags: [...row.querySelectorAll('[data-testid=tag-chip]')].map(t => t.textContent.trim()),
        selected: row.getAttribute('aria-selected') === 'true',
        favourite: row.querySelector('[aria-label=Favourite]')?.getAttribute('aria-pressed') === 'true',
    });
    const seen = new Map();
    const collect = () => table.querySelectorAll('[data-testid=sample-row]')
        .forEach(r => seen.set(r.dataset.path, info(r)));
    const scroller = [table, ...table.querySelectorAll('*')].find(
        e => e.scrollHeight > e.clientHeight + 1 && /(auto|scroll)/.test(getComputedStyle(e).overflowY));
    collect();
    if (scroller) {
        const start = scroller.scrollTop;
        scroller.scrollTop = 0;
        await frames(3);
        collect();
        while (scroller.scrollTop + scroller.clientHeight < scroller.scrollHeight - 1) {
            const before = scroller.scrollTop;
            scroller.scrollTop += Math.max(40, Math.floor(scroller.clientHeight * 0.7));
            await frames(3);
            collect();
            if (scroller.scrollTop === before) break;
        }
        scroller.scrollTop = start;
        await frames(3);
    }
    const rows = [...seen.values()];
    // in the table's order (aria-rowindex) when every row has one, else in the order they were met
    return rows.every(r => Number.isFinite(r.index)) ? rows.sort((a, b) => a.index - b.index) : rows;
}"""


def result_count(page: Page) -> tuple[int, int]:
    """``(shown, total)`` from the result count."""
    count = page.evaluate(COUNT_JS)
    assert count is not None, "no [data-testid=result-count] reading 'N of M sounds'"
    return count[0], count[1]


def wait_count(page: Page, condition: str, timeout: float = 20_000) -> tuple[int, int]:
    """Wait until the result count satisfies ``condition``, a JS expression of ``shown`` and ``total``."""
    page.wait_for_function(
        f"() => {{ const c = ({COUNT_JS})(); if (!c) return false; const [shown, total] = c; return {condition}; }}",
        timeout=timeout,
    )
    return result_count(page)


def all_rows(page: Page) -> list[dict[str, Any]]:
    """Every row of the table (path, class chip text without icons, BPM cell text, tag chips, selected, favourite),
    in the table's order, scrolling through it."""
    rows = page.evaluate(ALL_ROWS_JS)
    assert rows is not None, "no [data-testid=sample-table]"
    return rows


def sample_row(page: Page, path: str) -> Locator:
    """The table row of ``path``."""
    return page.locator(f'{SAMPLE_ROW}[data-path="{path}"]')


def chip_class(text: str | None) -> str | None:
    """The class named by a class chip ("Kick 93 %" → "Kick")."""
    if not text:
        return None
    match = re.match(r"\s*([A-Za-z]+)", text)
    return match.group(1) if match else None


def paths_shown(text: str, paths: Iterable[str]) -> list[str]:
    """The sample paths a piece of the screen shows: whole, or as its file name and its folder apart
    ("snare.wav Kits/909")."""
    found = []
    for path in paths:
        folder, _, name = path.rpartition("/")
        if path in text or (name in text and folder in text):
            found.append(path)
    return found


def click_row(row: Locator, modifiers: list[str] | None = None) -> None:
    """Click a row on its file name (else at a third of its width), as a person would."""
    path = row.get_attribute("data-path") or ""
    name = path.rsplit("/", 1)[-1]
    label = row.get_by_text(name, exact=False)
    if name and label.count():
        label.first.click(modifiers=modifiers or [])  # type: ignore[arg-type]
        return
    box = row.bounding_box()
    assert box is not None, f"row {path} is not visible"
    row.click(position={"x": box["width"] / 3, "y": box["height"] / 2}, modifiers=modifiers or [])  # type: ignore[arg-type]


# A toggle's state: ``checked`` of a checkbox input, else ``aria-checked`` (a switch) or ``aria-pressed`` (a toggle
# button), of the element or of the control inside it (a component's host element, e.g. <mat-slide-toggle>).
IS_ON_JS = """el => {
    const control = 'input, [role=switch], [role=checkbox], [aria-pressed]';
    const t = el.matches(control) ? el : (el.querySelector(control) ?? el);
    if (t.matches('input')) return t.checked;
    return (t.getAttribute('aria-pressed') ?? t.getAttribute('aria-checked')) === 'true';
}"""


def is_on(toggle: Locator) -> bool:
    """Whether the toggle is on (:data:`IS_ON_JS`)."""
    return toggle.evaluate(IS_ON_JS)


def view_switch(page: Page, name: str) -> Locator:
    """The "List" or "Map" switch: a tab, a toggle button or a radio of a button group (Material's toggles)."""
    return (
        page.get_by_role("tab", name=name, exact=True)
        .or_(page.get_by_role("radio", name=name, exact=True))
        .or_(page.get_by_role("button", name=name, exact=True))
        .first
    )


def stored_token(page: Page) -> str | None:
    """The access token the app keeps (``localStorage['ds.token']``)."""
    return page.evaluate("() => localStorage.getItem('ds.token')")


@dataclass
class Api:
    """The REST API as the signed-in app sees it (its token), to check what the screens show."""

    url: str
    token: str

    def get(self, path: str, **params: Any) -> Any:
        response = requests.get(
            f"{self.url}{path}", params=params, headers={"Authorization": f"Bearer {self.token}"}, timeout=60
        )
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text[:300]}"
        return response.json()

    def sample(self, lib: str, path: str) -> dict[str, Any]:
        return self.get(f"/sample/{quote(lib, safe='')}/{quote(path)}")
