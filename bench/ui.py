"""The web app's responsiveness on a large library, in headless Chromium against gunicorn on 127.0.0.1.

Seeds a library of ``--samples`` (default 10 000) analysed samples the way ``bench/search.py`` does (``bench.api``'s
``seed``: synthetic analysis results, auto and custom tags, favourites, the timbre map; ``file_into_folders``:
``Pack 07/Kit 12/snare_00345.wav`` paths), without running the tagger, and gives every sample real audio: a few
dozen generated one-shots hard-linked into the storage under the samples' content hashes. Then starts the server
the browser tests use (``tests/e2e/server.py``: gunicorn with ``backend/gunicorn_conf.py``, one worker), signs in
through the login page and measures, with timestamps taken in the page (``performance.now()``; an event's
``timeStamp`` has the same time base):

* navigation to the library view → the first rows on screen (a MutationObserver, then the next animation frame),
  and → interactive (rows shown and the search box enabled);
* a keystroke in the search box → the table filtered (the result count and the rendered rows changed), over
  ``--keystrokes`` keystrokes (a character typed, then Backspace);
* frame times while the table scrolls ``--scroll-rows`` rows, driven by requestAnimationFrame at a constant speed
  over ``--scroll-seconds`` (deltas between frames, late frames, frames that showed no row under the table's centre);
* ArrowDown → ``AudioBufferSourceNode.start()`` over ``--arrows`` presses ``--pause-ms`` apart (time for the app
  to pre-decode the neighbours): ``window.drumsampler.keyDowns`` paired with ``window.drumsampler.audioStarts``;
* a click on "Map" → the map canvas's ``data-points`` set.

Each figure is printed on its own line beside its target. No timing is asserted. Needs the built app
(``frontend/dist/drumsampler/browser``) and Debian's chromium. The server is stopped at the end or on any error.
Run: ``.venv/bin/python -m bench.ui [--samples 10000]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import requests
import soundfile as sf
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, sync_playwright

from bench.api import LIB, MAIL, PASSWORD, seed
from bench.common import make_one_shots
from bench.search import file_into_folders
from tests.e2e.browser import launch
from tests.e2e.server import app_problem, start_server
from tests.e2e.ui import IS_ON_JS, SAMPLE_ROW, view_switch, wait_count

FRAME_MS = 1000 / 60

LOAD_MARKS_JS = r"""(() => {
    const mark = {firstRow: null, firstRowFrame: null, interactive: null};
    window.__uiBench = mark;
    const observer = new MutationObserver(() => {
        const now = performance.now();
        const row = document.querySelector('[data-testid=sample-row]');
        if (mark.firstRow === null && row && row.getBoundingClientRect().height > 0) {
            mark.firstRow = now;
            requestAnimationFrame(() => { mark.firstRowFrame = performance.now(); });
        }
        const search = document.querySelector('input[data-testid=search]');
        if (mark.firstRow !== null && mark.interactive === null && search && !search.disabled) mark.interactive = now;
        if (mark.interactive !== null) observer.disconnect();
    });
    observer.observe(document, {subtree: true, childList: true, attributes: true});
})();"""

# Before each keystroke: what the table shows; then the first keydown's timeStamp, when the count text and the
# rendered rows differ from before (a MutationObserver; rows rendered later than the frame after the count's change
# are not waited for) and the animation frame after the count changed.
KEYSTROKE_ARM_JS = r"""() => {
    const rows = () => [...document.querySelectorAll('[data-testid=sample-row]')].map(r => r.dataset.path).join('\n');
    const count = () => document.querySelector('[data-testid=result-count]')?.textContent ?? '';
    const state = {down: null, count: null, rows: null, frame: null, before: [count(), rows()]};
    window.__kb?.observer.disconnect();
    window.__kb = state;
    state.onKey = (e) => { if (state.down === null) state.down = e.timeStamp; };
    document.addEventListener('keydown', state.onKey, {capture: true, once: true});
    state.observer = new MutationObserver(() => {
        const now = performance.now();
        if (state.rows === null && rows() !== state.before[1]) state.rows = now;
        if (state.count === null && count() !== state.before[0]) {
            state.count = now;
            requestAnimationFrame(() => {
                state.frame = performance.now();
                state.observer.disconnect();
            });
        }
    });
    state.observer.observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
}"""

SCROLL_JS = r"""async ([rows, seconds]) => {
    const table = document.querySelector('[data-testid=sample-table]');
    const scroller = [table, ...table.querySelectorAll('*')].find(
        e => e.scrollHeight > e.clientHeight + 1 && /(auto|scroll)/.test(getComputedStyle(e).overflowY));
    if (!scroller) return null;
    scroller.scrollTop = 0;
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    const rect = scroller.getBoundingClientRect();
    const cx = rect.left + rect.width / 2, cy = rect.top + rect.height / 2;
    const distance = Math.min(rows * 40, scroller.scrollHeight - scroller.clientHeight);
    const deltas = [];
    let blank = 0;
    return await new Promise(done => {
        let start = null, last = null;
        const frame = (t) => {
            if (start === null) { start = t; last = t; }
            else {
                deltas.push(t - last);
                last = t;
                if (!document.elementFromPoint(cx, cy)?.closest('[data-testid=sample-row]')) blank += 1;
            }
            const progress = Math.min(1, (t - start) / (seconds * 1000));
            scroller.scrollTop = progress * distance;
            if (progress < 1) requestAnimationFrame(frame);
            else done({deltas, blank, rows: distance / 40});
        };
        requestAnimationFrame(frame);
    });
}"""

MAP_ARM_JS = r"""() => {
    const state = {click: null, drawn: null, points: null};
    window.__map = state;
    document.addEventListener('click', (e) => { if (state.click === null) state.click = e.timeStamp; },
        {capture: true, once: true});
    const observer = new MutationObserver(() => {
        const canvas = document.querySelector('canvas[data-testid=map-canvas]');
        if (canvas && Number(canvas.dataset.points) > 0) {
            state.drawn = performance.now();
            state.points = Number(canvas.dataset.points);
            observer.disconnect();
        }
    });
    observer.observe(document.body, {subtree: true, childList: true, attributeFilter: ['data-points']});
}"""


def attach_audio(data_dir: Path, n_sounds: int = 64) -> None:
    """Real audio for every seeded sample: ``n_sounds`` generated one-shots (0.1-0.8 s, 16-bit WAV), hard-linked into
    the storage under each sample's content hash, with the samples' duration and size set to the file's."""
    from sqlalchemy import bindparam, select, update

    from backend import create_app
    from backend.extensions import db
    from backend.models import Sample, SampleLibrary
    from backend.services import storage

    sounds = [Path(p) for p in make_one_shots(data_dir / "bench-sounds", n_sounds, seed=7, min_s=0.1, max_s=0.8)]
    durations = [sf.info(str(p)).duration for p in sounds]
    app = create_app(env={"DATA_DIR": str(data_dir)})
    with app.app_context():
        library = db.session.scalar(select(SampleLibrary).where(SampleLibrary.name == LIB))
        samples = db.session.execute(
            select(Sample.id, Sample.content_hash, Sample.format).where(Sample.library_id == library.id)
        ).all()
        rows, files = [], set()
        for i, (sid, content_hash, fmt) in enumerate(samples):
            source = sounds[i % len(sounds)]
            target = storage.audio_path(library.user_id, content_hash, fmt)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(source, target)
            files.add((content_hash, fmt))
            rows.append({"sid": sid, "duration": durations[i % len(sounds)], "size_bytes": source.stat().st_size})
        storage.lock(library.user_id, files)  # the stored_blob rows an upload writes with its file
        statement = (
            update(Sample)
            .where(Sample.id == bindparam("sid"))
            .values(duration=bindparam("duration"), size_bytes=bindparam("size_bytes"))
        )
        db.session.connection().execute(statement, rows)
        db.session.execute(update(SampleLibrary).values(version=SampleLibrary.version + 1))
        db.session.commit()
        db.engine.dispose()


def stats(values: list[float]) -> str:
    if not values:
        return "no data"
    p50, p95 = np.percentile(values, [50, 95])
    return f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(values):.1f} ms (n={len(values)})"


def figure(label: str, value: str, target: str) -> None:
    print(f"{label}: {value}   [target: {target}]", flush=True)


def measured(label: str, run: Callable[[], None]) -> None:
    """Run one measurement; a UI that does not do what the contract says prints why instead of stopping the rest."""
    try:
        run()
    except (PlaywrightError, AssertionError, KeyError, TypeError) as exc:
        print(f"{label}: not measured ({type(exc).__name__}: {str(exc).splitlines()[0][:300]})", flush=True)


def sign_in(page: Page, url: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("Mail", exact=True).fill(MAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda u: "/login" not in u, timeout=30_000)


def measure_load(page: Page, url: str, loads: int) -> None:
    first_rows, interactive = [], []
    for _ in range(loads):
        page.goto(f"{url}/libraries/{LIB}")
        page.wait_for_function(
            "() => window.__uiBench && window.__uiBench.interactive !== null"
            " && window.__uiBench.firstRowFrame !== null",
            timeout=60_000,
        )
        marks = page.evaluate("() => window.__uiBench")
        first_rows.append(marks["firstRowFrame"])
        interactive.append(marks["interactive"])
    figure(
        "navigation → first rows on screen",
        f"first load {first_rows[0]:.0f} ms, median of {loads} loads {np.median(first_rows):.0f} ms",
        "< 1000 ms",
    )
    figure(
        "navigation → interactive (rows + search box enabled)",
        f"first load {interactive[0]:.0f} ms, median of {loads} loads {np.median(interactive):.0f} ms",
        "< 1000 ms",
    )


def filter_characters(url: str, token: str, n_samples: int, wanted: int) -> list[str]:
    """Single characters whose search narrows the library (neither all nor none of it), per the server."""
    chosen = []
    for c in "snhrlomexfd123456789":
        total = requests.get(
            f"{url}/search/{LIB}", params={"q": c, "limit": 0}, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ).json()["total"]
        if 0 < total < n_samples:
            chosen.append(c)
        if len(chosen) == wanted:
            break
    return chosen


def measure_keystrokes(page: Page, url: str, token: str, n_samples: int, keystrokes: int) -> None:
    search = page.locator("input[data-testid=search]")
    search.fill("")
    wait_count(page, f"shown === {n_samples}", timeout=30_000)
    search.focus()
    to_dom, to_frame = [], []
    for c in filter_characters(url, token, n_samples, max(1, keystrokes // 2)):
        for key in (c, "Backspace"):
            page.evaluate(KEYSTROKE_ARM_JS)
            page.keyboard.press(key)
            page.wait_for_function("() => window.__kb.frame !== null && window.__kb.down !== null", timeout=30_000)
            kb = page.evaluate("() => ({down: __kb.down, count: __kb.count, rows: __kb.rows, frame: __kb.frame})")
            to_dom.append(max(kb["count"], kb["rows"] or kb["count"]) - kb["down"])
            to_frame.append(kb["frame"] - kb["down"])
    figure("keystroke → table filtered (DOM updated)", stats(to_dom), "< 50 ms")
    figure("keystroke → table filtered (next frame)", stats(to_frame), "< 50 ms")


IDLE_FRAMES_JS = r"""(seconds) => new Promise(done => {
    const deltas = [];
    let start = null, last = null;
    const frame = (t) => {
        if (start === null) start = t; else deltas.push(t - last);
        last = t;
        if (t - start < seconds * 1000) requestAnimationFrame(frame); else done(deltas);
    };
    requestAnimationFrame(frame);
})"""


def measure_scroll(page: Page, n_samples: int, rows: int, seconds: float) -> None:
    wait_count(page, f"shown === {n_samples}", timeout=30_000)
    idle = page.evaluate(IDLE_FRAMES_JS, 1.0)
    figure("frame times of the library view at rest (the browser's baseline)", stats(idle), "16.7 ms at 60 Hz")
    result = page.evaluate(SCROLL_JS, [rows, seconds])
    assert result is not None, "the table has no scrolling element"
    deltas = result["deltas"]
    late = sum(d > FRAME_MS + 1 for d in deltas)
    dropped = sum(max(0, round(d / FRAME_MS) - 1) for d in deltas)
    figure(
        f"scroll frame times ({result['rows']:.0f} rows in {seconds:.0f} s)",
        f"{stats(deltas)}; {late} frames over 16.7 ms, about {dropped} dropped frames at 60 Hz, "
        f"{result['blank']} frames with no row under the table's centre",
        "no dropped frames at 60 Hz",
    )


def measure_keypress_to_sound(page: Page, arrows: int, pause_ms: float) -> None:
    toggle = page.locator("[data-testid=autoplay-toggle]")
    if not toggle.evaluate(IS_ON_JS):
        toggle.click()
    table = page.locator("[data-testid=sample-table]")
    page.locator(SAMPLE_ROW).first.click()
    page.wait_for_function("() => Number(document.querySelector('[data-testid=player]')?.dataset.starts) > 0")
    page.wait_for_timeout(pause_ms)
    table.focus()
    marks = page.evaluate("() => [window.drumsampler.keyDowns.length, window.drumsampler.audioStarts.length]")
    for _ in range(arrows):
        page.keyboard.press("ArrowDown")
        page.wait_for_timeout(pause_ms)  # the app pre-decodes the new neighbours meanwhile
    downs, starts = page.evaluate(
        "([k, a]) => [window.drumsampler.keyDowns.slice(k), window.drumsampler.audioStarts.slice(a)]", marks
    )
    times = [d["at"] for d in downs if d["key"] == "ArrowDown"]
    latencies, missing = [], 0
    for i, at in enumerate(times):
        until = times[i + 1] if i + 1 < len(times) else float("inf")
        started = [s["at"] for s in starts if at <= s["at"] < until]
        if started:
            latencies.append(started[0] - at)
        else:
            missing += 1
    figure(
        "ArrowDown → audio source started (pre-decoded neighbours)",
        f"{stats(latencies)}; {missing} of {len(times)} presses started no sound",
        "p95 < 30 ms",
    )


def measure_map(page: Page) -> None:
    page.evaluate(MAP_ARM_JS)
    view_switch(page, "Map").click()
    page.wait_for_function("() => window.__map.drawn !== null && window.__map.click !== null", timeout=60_000)
    marks = page.evaluate("() => window.__map")
    figure(f"click on Map → map drawn ({marks['points']} points)", f"{marks['drawn'] - marks['click']:.0f} ms", "none")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--favourites", type=int, default=20)
    parser.add_argument("--loads", type=int, default=3, help="navigations to the library view")
    parser.add_argument("--keystrokes", type=int, default=20)
    parser.add_argument("--scroll-rows", type=int, default=4000)
    parser.add_argument("--scroll-seconds", type=float, default=4.0)
    parser.add_argument("--arrows", type=int, default=50)
    parser.add_argument("--pause-ms", type=float, default=250.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="drumsampler-bench-") as tmp:
        data_dir = Path(tmp)
        started = time.perf_counter()
        seed(data_dir, args.samples, args.favourites)
        file_into_folders(data_dir)
        attach_audio(data_dir)
        print(f"seeded {args.samples} analysed samples with audio in {time.perf_counter() - started:.1f} s")
        server = start_server(data_dir)
        try:
            login = requests.post(f"{server.url}/login", data={"mail": MAIL, "password": PASSWORD}, timeout=30)
            token = login.json()["token"]
            total = requests.get(
                f"{server.url}/search/{LIB}",
                params={"limit": 0},
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            ).json()["total"]
            print(f"library '{LIB}': {total} samples (GET /search total); cpus={os.cpu_count()}, 1 gunicorn worker")
            problem = app_problem(server.url)
            if problem:
                raise SystemExit(problem)
            with sync_playwright() as playwright:
                browser = launch(playwright)
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                context.add_init_script(LOAD_MARKS_JS)
                page = context.new_page()
                print(f"Chromium {browser.version}, headless, viewport 1280x800")
                sign_in(page, server.url)
                measured("load", lambda: measure_load(page, server.url, args.loads))
                measured(
                    "keystroke", lambda: measure_keystrokes(page, server.url, token, args.samples, args.keystrokes)
                )
                measured("scroll", lambda: measure_scroll(page, args.samples, args.scroll_rows, args.scroll_seconds))
                measured("keypress-to-sound", lambda: measure_keypress_to_sound(page, args.arrows, args.pause_ms))
                measured("map", lambda: measure_map(page))
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
