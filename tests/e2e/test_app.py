"""The app in a real Chromium against the real server: a producer's first session, screen by screen.

Follows ``tests/e2e/UI_CONTRACT.md``. Screenshots of each main screen land in ``artifacts/e2e/``; axe-core checks
the login, libraries, library, duplicates and map screens (serious and critical violations fail the journey at its
end, so that every functional step still runs). Waits are on events and DOM states, never on the clock.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from playwright.sync_api import Locator, Page, Response, expect

from drumsamp_models import ctagger
from tests.backend.test_restart import Server
from tests.e2e.conftest import Axe
from tests.e2e.samples import BROKEN, DUPLICATES, LOOP_BPM, SNARE_VARIANTS, SOUNDS
from tests.e2e.ui import (
    IS_ON_JS,
    SAMPLE_ROW,
    Api,
    all_rows,
    chip_class,
    click_row,
    is_on,
    paths_shown,
    result_count,
    sample_row,
    stored_token,
    view_switch,
    wait_count,
)

PASSWORD = "kick snare hat 909"
LIB = "Drums"
ANALYSIS_LIMIT_MS = 180_000  # the tagger runs on the CPU
# the two sounds tagged "dusty": the tagger calls both Snare; at the default, strict reach "dusty" spreads to their
# close variants SNARE_VARIANTS only (both, measured through the API with the shipped model; the acoustic snare is
# not reached even at the wide reach)
DUSTY = ("Kits/808/snare.wav", "Kits/909/snare.wav")
FAVOURITES = ("Kits/909/kick.wav", "Kits/808/snare.wav")
CORRECTED = "Toms/high.wav"  # the tagger (0.7) calls the three generated toms Kick: the user corrects this one to Tom
# Class suggestions, measured through the API with the shipped tagger 0.7 on this sample set: once Toms/high.wav is
# corrected to Tom, the correction spreads to the two other toms, which the tagger calls Kick, as Tom (86 % and 84 %;
# a suggestion needs 80 %). Accepting Toms/mid.wav's makes it a correction too, which suggests Tom for
# Toms/low.wav again (94 %) and for the kicks (pitch-dropping sines like the toms, 86-88 %): the user rejects them
# all, and none is left.
SUGGESTED = {"Toms/mid.wav": ("Kick", "Tom"), "Toms/low.wav": ("Kick", "Tom")}  # current -> suggested
ACCEPTED, REJECTED = "Toms/mid.wav", "Toms/low.wav"
BACK_TO_TAGGER = "Back to the tagger's class"
BPM_TOLERANCE = 0.02  # the loops' tempo estimates are within 2 % of the tempo they are rendered at


@contextmanager
def step(name: str) -> Iterator[None]:
    """A named step of the journey: a failure says which step it was in."""
    try:
        yield
    except BaseException as exc:
        exc.add_note(f"journey step: {name}")
        raise


def saving(url_part: str, method: str = "PUT|POST") -> Callable[[Response], bool]:
    """A predicate for ``page.expect_response``: the app's write request to a route containing ``url_part``."""
    return lambda r: url_part in r.url and re.fullmatch(method, r.request.method) is not None


def toggle_on(page: Page, toggle: Locator) -> None:
    """Turn a toggle on (a checkbox or switch, or a button with aria-pressed) and wait until it reads on."""
    if not is_on(toggle):
        toggle.click()
    page.wait_for_function(f"el => ({IS_ON_JS})(el)", arg=toggle.element_handle())


# whether the table's first rows (by aria-rowindex, the header being row 1) are those of the given paths
FIRST_ROWS_JS = """paths => {
    const rows = [...document.querySelectorAll('[data-testid=sample-row]')]
        .sort((a, b) => Number(a.getAttribute('aria-rowindex')) - Number(b.getAttribute('aria-rowindex')));
    return rows.length >= paths.length && Number(rows[0].getAttribute('aria-rowindex')) === 2
        && paths.every((path, i) => rows[i].dataset.path === path);
}"""


def player_starts(page: Page) -> int:
    return int(page.locator("[data-testid=player]").get_attribute("data-starts") or 0)


def wait_starts_above(page: Page, n: int) -> int:
    page.wait_for_function(
        "n => Number(document.querySelector('[data-testid=player]')?.dataset.starts ?? 0) > n", arg=n
    )
    return player_starts(page)


def file_name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def folder_of(path: str) -> str:
    return path.rpartition("/")[0]


def rounded(value: float) -> str:
    """``value`` as the app shows a tempo (JavaScript's ``toFixed(0)``: halves away from zero)."""
    return str(math.floor(value + 0.5))


def menu_choice(page: Page, name: str) -> Locator:
    """An item of the open menu or dialog named ``name`` exactly (a menuitem or a button)."""
    scope = page.locator("[role=menu], [role=dialog], [role=listbox]").last
    return (
        scope.get_by_role("menuitem", name=name, exact=True)
        .or_(scope.get_by_role("menuitemradio", name=name, exact=True))
        .or_(scope.get_by_role("button", name=name, exact=True))
        .or_(scope.get_by_role("option", name=name, exact=True))
        .first
    )


def open_class_menu(page: Page) -> None:
    """Open the detail panel's "Correct class" menu."""
    page.locator("[data-testid=detail]").get_by_role("button", name="Correct class").click()
    expect(menu_choice(page, "Kick")).to_be_visible()


def expect_corrected_chip(page: Page, path: str, cls: str) -> None:
    """The row's class chip reads ``cls`` without a likelihood, with a check icon (a class set by the user)."""
    chip = sample_row(page, path).locator("[data-testid=class-chip]")
    expect(chip).to_contain_text(cls)
    expect(chip).not_to_contain_text(re.compile(r"\d\s?%"))
    expect(chip.locator("mat-icon, .mat-icon")).to_have_text("check")


def search_entry(api: Api, path: str) -> dict[str, Any]:
    """The ``/search`` entry of ``path``."""
    listed = {s["path"]: s for s in api.get(f"/search/{LIB}", limit=1000)["samples"]}
    assert path in listed, f"/search does not list {path}"
    return listed[path]


@pytest.mark.slow
def test_first_session(server: Server, page: Page, sample_folder: Path, shot: Callable[[str], Path], axe: Axe) -> None:
    url = server.url
    mail = "producer@example.org"
    all_paths: dict[str, str] = {}  # contract path (Kits/909/kick.wav) -> path in the app (with the folder's prefix)

    with step("login page, then register"):
        page.goto(f"{url}/login")
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        shot("01-login")
        axe(page, "login")
        page.get_by_role("link", name="Create an account").click()
        expect(page).to_have_url(re.compile(r"/register$"))
        page.get_by_label("Mail", exact=True).fill(mail)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        expect(page).to_have_url(re.compile(r"/libraries/?$"))

    with step("libraries page: empty state"):
        expect(page.get_by_text("No libraries yet")).to_be_visible()
        expect(page.locator("[data-testid=library-card]")).to_have_count(0)
        token = stored_token(page)
        assert token, "no token in localStorage['ds.token'] after registering"
        api = Api(url, token)
        shot("02-libraries-empty")
        axe(page, "libraries")

    with step("new library 'Drums'"):
        page.get_by_role("button", name="New library").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Library name").fill(LIB)
        dialog.get_by_role("button", name="Create").click()
        expect(page).to_have_url(re.compile(rf"/libraries/{LIB}$"))

    with step("import the folder"):
        page.locator("input[data-testid=folder-input]").set_input_files(sample_folder)
        panel = page.locator("[data-testid=upload-panel]")
        expect(panel).to_be_visible()
        upload_rows = panel.locator("[data-testid=upload-row]")
        expect(upload_rows).to_have_count(len(SOUNDS) + 1)
        busy = panel.locator(
            "[data-testid=upload-row][data-status=queued], [data-testid=upload-row][data-status=uploading]"
        )
        expect(busy).to_have_count(0, timeout=120_000)
        statuses = upload_rows.evaluate_all("rows => rows.map(r => [r.textContent, r.dataset.status])")
        by_path = {}
        for text, status in statuses:
            named = [p for p in [*SOUNDS, BROKEN] if p in text]
            assert len(named) == 1, f"an upload row names {named or 'no path'}: {text!r}"
            by_path[named[0]] = status
        assert by_path == {**dict.fromkeys(SOUNDS, "stored"), BROKEN: "rejected"}, by_path
        broken = upload_rows.filter(has_text=BROKEN)
        expect(broken).to_have_attribute("data-status", "rejected")
        expect(broken).to_contain_text("not a supported audio file")  # the server's reason
        expect(page.locator("[data-testid=upload-overall]")).to_be_visible()
        shot("03-import-panel")
        panel.get_by_role("button", name="Close").click()
        expect(panel).to_be_hidden()

    with step("sample rows with their folder paths"):
        wait_count(page, f"shown === {len(SOUNDS)} && total === {len(SOUNDS)}")
        paths = [r["path"] for r in all_rows(page)]
        for contract_path in SOUNDS:
            found = [p for p in paths if p == contract_path or p.endswith(f"/{contract_path}")]
            assert len(found) == 1, f"{contract_path}: rows {found} (all rows: {paths})"
            all_paths[contract_path] = found[0]
        assert len(paths) == len(SOUNDS), paths
        assert all_paths["Kits/909/kick.wav"] != all_paths["Kits/808/kick.wav"]
        listed = api.get(f"/search/{LIB}", limit=1000)["samples"]
        assert sorted(s["path"] for s in listed) == sorted(paths), "the table and the server list different sounds"

    with step("analysis progress reaches done"):
        progress = page.locator("[data-testid=analysis-progress]")
        expect(progress).to_have_attribute("data-state", "done", timeout=ANALYSIS_LIMIT_MS)
        # "done" may still be the empty library's job until the app has asked for the new sounds' analysis:
        # the analysis is over when every row's class chip shows a likelihood
        page.wait_for_function(
            r"""() => {
                const rows = [...document.querySelectorAll('[data-testid=sample-row]')];
                return rows.length > 0 && rows.every(
                    r => /\d+\s?%/.test(r.querySelector('[data-testid=class-chip]')?.textContent ?? ''));
            }""",
            timeout=ANALYSIS_LIMIT_MS,
        )
        expect(progress).to_have_attribute("data-state", "done")
        expect(progress).to_contain_text("Analysed")

    with step("class chips and class filters"):
        expect(page.locator(f"{SAMPLE_ROW} [data-testid=class-chip]").first).to_be_visible()
        server_classes = {s["path"]: s["class"] for s in api.get(f"/search/{LIB}", limit=1000)["samples"]}
        rows = all_rows(page)
        shown = {r["path"]: chip_class(r["classChip"]) for r in rows}
        assert shown == server_classes, f"class chips {shown} differ from the server's classes {server_classes}"
        for r in rows:
            assert re.search(r"\d+\s?%", r["classChip"] or ""), f"class chip without a likelihood %: {r}"
        filters = page.locator("[data-testid=class-filter]")
        filter_texts = filters.all_text_contents()
        for cls, n in Counter(server_classes.values()).items():
            assert any(re.search(rf"{cls}\D*\b{n}\b", t) for t in filter_texts), (cls, n, filter_texts)
        # the tagger's sub-class under the class chip, where it says more than the class (not kick, tom, loop)
        for entry in api.get(f"/search/{LIB}", limit=1000)["samples"]:
            shown_sub = sample_row(page, entry["path"]).locator("[data-testid=subclass]")
            if entry["subclass"] in (None, "kick", "tom", "loop"):
                expect(shown_sub).to_have_count(0)
            else:
                expect(shown_sub).to_have_text(entry["subclass"].replace("_", " "))

    with step("click a row plays it; ArrowDown plays the next"):
        autoplay = page.locator("[data-testid=autoplay-toggle]")
        toggle_on(page, autoplay)
        first = page.locator(SAMPLE_ROW).first
        first_path = first.get_attribute("data-path")
        starts = player_starts(page)
        click_row(first)
        expect(first).to_have_attribute("aria-selected", "true")
        starts = wait_starts_above(page, starts)
        detail = page.locator("[data-testid=detail]")
        expect(detail).to_be_visible()
        expect(detail).to_contain_text(str(first_path).rsplit("/", 1)[-1])
        page.locator("[data-testid=sample-table]").press("ArrowDown")
        wait_starts_above(page, starts)
        second = page.locator(SAMPLE_ROW).nth(1)
        expect(second).to_have_attribute("aria-selected", "true")
        expect(first).to_have_attribute("aria-selected", "false")
        played = page.evaluate("() => window.drumsampler.audioStarts.at(-1)")
        keys = page.evaluate("() => window.drumsampler.keyDowns.map(k => k.key)")
        assert played["path"] == second.get_attribute("data-path"), played
        assert "ArrowDown" in keys, keys
        expect(page.locator("[data-testid=player]")).to_contain_text(
            str(second.get_attribute("data-path")).rsplit("/", 1)[-1]
        )
        shot("04-library-detail")
        axe(page, "library")

    with step("search 'kick', then clear"):
        search = page.locator("input[data-testid=search]")
        expect(search).to_have_accessible_name(re.compile("Search", re.I))
        search.fill("kick")
        expected = api.get(f"/search/{LIB}", q="kick", limit=1000)["samples"]
        assert 0 < len(expected) < len(SOUNDS)
        wait_count(page, f"shown === {len(expected)} && total === {len(SOUNDS)}")
        rows = all_rows(page)
        assert sorted(r["path"] for r in rows) == sorted(s["path"] for s in expected)
        for r in rows:
            assert "kick" in r["path"].lower() or chip_class(r["classChip"]) == "Kick", r
        search.fill("")
        wait_count(page, f"shown === {len(SOUNDS)}")

    with step("favourite two sounds; recommendations"):
        for contract_path in FAVOURITES:
            button = sample_row(page, all_paths[contract_path]).get_by_role("button", name="Favourite")
            with page.expect_response(saving("/samplefavorite/update/")) as response:
                button.click()
            assert response.value.ok, response.value.text()
            expect(button).to_have_attribute("aria-pressed", "true")
            assert api.sample(LIB, all_paths[contract_path])["isFavorite"] is True
        recommended = [r["name"] for r in api.get(f"/recommendations/{LIB}")]
        assert recommended, "the server recommends nothing for the two favourites"
        explained = api.get(f"/recommendations/{LIB}/explained")
        assert [e["name"] for e in explained] == recommended, explained
        favourite_paths = {all_paths[p] for p in FAVOURITES}
        assert {e["because"] for e in explained} <= favourite_paths, explained
        recommendation_rows = page.locator("[data-testid=recommendations-panel] [data-testid=recommendation-row]")
        # each row: the recommended sound, then a button "like ★ <the favourite's file name>" (its reason)
        likes = recommendation_rows.get_by_role("button", name=re.compile(r"^like ★"))
        expect(likes).to_have_text([f"like ★ {file_name(e['because'])}" for e in explained])
        expect(recommendation_rows).to_have_count(len(explained))
        for row, e in zip(recommendation_rows.all(), explained, strict=True):
            shown = row.get_by_role("button").first.text_content() or ""
            assert paths_shown(shown, [e["name"]]), (
                f"recommendation {shown!r} is not {e['name']} (order: {recommended})"
            )
        because = explained[0]["because"]
        likes.first.click()  # selects the favourite it comes from
        expect(sample_row(page, because)).to_have_attribute("aria-selected", "true")
        expect(page.locator("[data-testid=detail]")).to_contain_text(file_name(because))

    with step("tag two sounds 'dusty' (Ctrl-click selection, Add tag)"):
        a, b = (sample_row(page, all_paths[p]) for p in DUSTY)
        click_row(a)
        click_row(b, modifiers=["ControlOrMeta"])
        expect(a).to_have_attribute("aria-selected", "true")
        expect(b).to_have_attribute("aria-selected", "true")
        tag_input = page.get_by_label("Add tag")
        tag_input.fill("dusty")
        tag_input.press("Enter")
        for row in (a, b):
            expect(row.locator("[data-testid=tag-chip]").filter(has_text="dusty")).to_have_count(1)
        for contract_path in DUSTY:
            tags = api.sample(LIB, all_paths[contract_path])["tags"]
            assert ["dusty", "user"] in [t[:2] for t in tags], tags

    with step("spread tags at the strict reach; review; reject one"):
        page.get_by_role("button", name="Spread tags").click()
        review = page.locator("[data-testid=spread-review]")
        expect(review).to_be_visible()
        reach = {name: review.get_by_role("button", name=name, exact=True) for name in ("strict", "balanced", "wide")}
        expect(reach["strict"]).to_have_attribute("aria-pressed", "true")
        expect(reach["wide"]).to_have_attribute("aria-pressed", "false")
        spread = {
            s["path"]
            for s in api.get(f"/search/{LIB}", limit=1000)["samples"]
            if ["dusty", "propagated"] in [t[:2] for t in s["tags"]]
        }
        assert spread, "at the strict reach 'dusty' spreads to no sound"
        assert spread <= {all_paths[p] for p in SNARE_VARIANTS}, f"'dusty' spread beyond the snare variants: {spread}"
        spread_rows = review.locator("[data-testid=spread-row]")
        expect(spread_rows).to_have_count(len(spread))
        shot("05-spread-review")
        first_spread = spread_rows.first
        spread_text = first_spread.text_content() or ""
        shown_paths = paths_shown(spread_text, all_paths.values())
        assert len(shown_paths) == 1, f"a spread row should show one sample path: {spread_text!r}"
        spread_path = shown_paths[0]
        assert spread_path in spread, (spread_path, spread)
        assert "dusty" in spread_text and re.search(r"\d+\s?%", spread_text), spread_text
        with page.expect_response(lambda r: "/sampletag/update/" in r.url or "/usertags/" in r.url) as response:
            first_spread.get_by_role("button", name="Reject").click()
        assert response.value.ok, response.value.text()
        rejected_chip = sample_row(page, spread_path).locator("[data-testid=tag-chip]").filter(has_text="dusty")
        expect(rejected_chip).to_have_count(0)
        expect(spread_rows).to_have_count(len(spread) - 1)
        assert "dusty" in api.sample(LIB, spread_path)["rejectedTags"]

    with step("spread review: preview the wide reach, then cancel"):
        wide = api.get(f"/usertags/{LIB}/preview", reach="wide")
        reach["wide"].click()
        expect(reach["wide"]).to_have_attribute("aria-pressed", "true")
        preview = review.locator("[data-testid=reach-preview]")
        expect(preview).to_contain_text(re.compile(r"\d+ tags? would be added"))
        match = re.search(r"(\d+) tags? would be added", preview.text_content() or "")
        assert match and int(match.group(1)) == len(wide["added"]), (preview.text_content(), wide)
        expect(preview.get_by_role("button", name="Apply this reach")).to_be_visible()
        shot("05b-spread-reach-preview")
        preview.get_by_role("button", name="Cancel").click()
        expect(preview).to_be_hidden()
        expect(reach["strict"]).to_have_attribute("aria-pressed", "true")  # the library's reach again
        assert api.get(f"/usertags/{LIB}/preview", reach="strict")["added"] == [], "cancelling stored another reach"
        current = api.get(f"/usertags/{LIB}/preview")["current"]
        assert current == ctagger.REACH_LEVELS["strict"], "cancelling changed the library's reach"
        assert "dusty" in api.sample(LIB, spread_path)["rejectedTags"]

    with step("correct a sound's class"):
        corrected = all_paths[CORRECTED]
        before = api.sample(LIB, corrected)
        auto = before["modelClass"]
        assert before["userClass"] is None and auto == next(t[0] for t in before["tags"] if t[1] == "auto"), before
        target = "Tom" if auto != "Tom" else "Cymbal"
        row = sample_row(page, corrected)
        click_row(row)
        expect(row).to_have_attribute("aria-selected", "true")
        open_class_menu(page)
        expect(menu_choice(page, BACK_TO_TAGGER)).to_have_count(0)  # not corrected yet
        with page.expect_response(saving("/sampleclass/update/", "PUT")) as response:
            menu_choice(page, target).click()
        assert response.value.ok, response.value.text()
        expect(page.locator("[data-testid=detail]")).to_contain_text(f"{target} set by you (tagger: {auto})")
        expect_corrected_chip(page, corrected, target)
        after = api.sample(LIB, corrected)
        assert (after["userClass"], after["modelClass"]) == (target, auto) and after["correctedAt"], after
        assert after["tags"][0] == [target, "user", "1.000"], after["tags"]
        assert auto not in [t[0] for t in after["tags"]], after["tags"]
        found = search_entry(api, corrected)
        assert (found["class"], found["corrected"], found["modelClass"], found["likelihood"]) == (target, True, auto, 1)
        open_class_menu(page)  # a corrected sound's menu offers its way back
        expect(menu_choice(page, BACK_TO_TAGGER)).to_be_visible()
        page.keyboard.press("Escape")
        expect(menu_choice(page, BACK_TO_TAGGER)).to_have_count(0)

    with step("similar sounds of the selected sound"):
        similar_rows = page.locator("[data-testid=similar-panel] [data-testid=similar-row]")
        expect(similar_rows.first).to_be_visible()
        texts = similar_rows.all_text_contents()
        nearest = [s["name"] for s in api.get(f"/similar/{LIB}/{quote(corrected)}", n=len(texts))]
        for text, name in zip(texts, nearest, strict=True):  # nearest first, as the server answers
            assert paths_shown(text, [name]), f"similar rows {texts} differ from the server's {nearest}"

    with step("class suggestions from the correction: accept one, reject the rest"):
        suggested = {s["name"]: s for s in api.get(f"/suggestions/{LIB}")["suggestions"]}
        assert set(suggested) == {all_paths[p] for p in SUGGESTED}, suggested
        for path, (current, cls) in SUGGESTED.items():
            got = suggested[all_paths[path]]
            assert (got["currentClass"], got["suggestedClass"]) == (current, cls), (path, got)
        section = page.locator("[data-testid=class-suggestions]")
        suggestion_rows = section.locator("[data-testid=class-suggestion-row]")
        expect(suggestion_rows).to_have_count(len(suggested))
        for text in suggestion_rows.all_text_contents():
            (path,) = paths_shown(text, suggested)
            s = suggested[path]
            match = re.search(rf"{s['currentClass']}\s*→\s*{s['suggestedClass']}\s*(\d+)\s?%", text)
            assert match, f"suggestion row {text!r}: not '{s['currentClass']} → {s['suggestedClass']} N %'"
            assert abs(int(match.group(1)) - 100 * s["confidence"]) <= 0.51, (text, s["confidence"])
        expect(section.get_by_role("button", name="Accept all")).to_be_visible()
        expect(section.get_by_role("button", name="Reject all")).to_be_visible()
        section.scroll_into_view_if_needed()  # the detail panel scrolls on its own
        shot("06-class-suggestions")
        accepted = suggestion_rows.filter(has_text=file_name(all_paths[ACCEPTED]))
        with page.expect_response(saving(f"/suggestions/{quote(LIB)}/accept", "POST")) as response:
            accepted.get_by_role("button", name="Accept", exact=True).click()
        assert response.value.ok, response.value.text()
        expect_corrected_chip(page, all_paths[ACCEPTED], SUGGESTED[ACCEPTED][1])
        assert api.sample(LIB, all_paths[ACCEPTED])["userClass"] == SUGGESTED[ACCEPTED][1]
        left = {s["name"] for s in api.get(f"/suggestions/{LIB}")["suggestions"]}
        assert all_paths[REJECTED] in left and all_paths[ACCEPTED] not in left, left
        expect(suggestion_rows).to_have_count(len(left))  # the accepted correction teaches too
        with page.expect_response(saving(f"/suggestions/{quote(LIB)}/reject", "POST")) as response:
            section.get_by_role("button", name="Reject all").click()
        assert response.value.ok, response.value.text()
        expect(section).to_be_hidden()  # no suggestion left
        assert api.get(f"/suggestions/{LIB}")["suggestions"] == []
        rejected_row = sample_row(page, all_paths[REJECTED]).locator("[data-testid=class-chip]")
        expect(rejected_row).to_contain_text(re.compile(rf"{SUGGESTED[REJECTED][0]}\s*\d+\s?%"))  # the tagger's
        assert api.sample(LIB, all_paths[REJECTED])["userClass"] is None

    with step("loop tempo: BPM column, range filter, halve and back to the estimate"):
        loops = {all_paths[p]: bpm for p, bpm in LOOP_BPM.items()}
        for path, true_bpm in loops.items():
            entry = search_entry(api, path)
            assert entry["class"] == "Drumloop" and entry["bpmSource"] == "auto", entry
            assert abs(entry["bpm"] - true_bpm) <= BPM_TOLERANCE * true_bpm, (path, entry["bpm"], true_bpm)
            expect(sample_row(page, path).locator("[data-testid=bpm]")).to_have_text(rounded(entry["bpm"]))
        one_shot = all_paths["Kits/909/snare.wav"]
        expect(sample_row(page, one_shot).locator("[data-testid=bpm]")).to_have_text("")
        fast = max(loops, key=loops.__getitem__)
        page.get_by_label("BPM from").fill("120")
        page.get_by_label("BPM to").fill("140")
        wait_count(page, "shown === 1")
        assert [r["path"] for r in all_rows(page)] == [fast]
        page.get_by_label("BPM from").fill("")
        page.get_by_label("BPM to").fill("")
        wait_count(page, f"shown === {len(all_paths)}")
        slow = min(loops, key=loops.__getitem__)
        estimate = search_entry(api, slow)["bpm"]
        click_row(sample_row(page, slow))
        editor = page.locator("[data-testid=bpm-editor]")
        expect(editor.get_by_label("Tempo (BPM)")).to_have_value(str(round(estimate, 1)).removesuffix(".0"))
        with page.expect_response(saving("/samplebpm/update/", "PUT")) as response:
            editor.get_by_role("button", name="÷2").click()
        assert response.value.ok, response.value.text()
        halved = round(estimate / 2, 1)
        expect(sample_row(page, slow).locator("[data-testid=bpm]")).to_have_text(rounded(halved))
        expect(editor).to_contain_text("set by you")
        entry = search_entry(api, slow)
        assert (entry["bpm"], entry["bpmSource"]) == (halved, "user"), entry
        shot("07-loop-tempo")
        with page.expect_response(saving("/samplebpm/update/", "PUT")) as response:
            editor.get_by_role("button", name="Use the estimate").click()
        assert response.value.ok, response.value.text()
        expect(sample_row(page, slow).locator("[data-testid=bpm]")).to_have_text(rounded(estimate))
        entry = search_entry(api, slow)
        assert (entry["bpm"], entry["bpmSource"]) == (estimate, "auto"), entry

    with step("duplicates: find them, keep the original, delete the copy"):
        ((copy, original),) = ((all_paths[c], all_paths[o]) for c, o in DUPLICATES.items())
        server_groups = [[s["name"] for s in g["samples"]] for g in api.get(f"/duplicates/{LIB}")["groups"]]
        assert [sorted(g) for g in server_groups] == [sorted([copy, original])], server_groups
        page.get_by_role("button", name="Find duplicates").click()
        dialog = page.locator("[data-testid=duplicates]")
        groups = dialog.locator("[data-testid=duplicate-group]")
        expect(groups).to_have_count(1)
        expect(groups.first).to_contain_text(file_name(copy))
        expect(groups.first).to_contain_text(folder_of(original))
        groups.first.get_by_role("radio", name=re.compile(rf"^Keep {re.escape(file_name(original))}")).check()
        shot("08-duplicates")
        axe(page, "duplicates")
        with page.expect_response(saving(f"/duplicates/{quote(LIB)}/resolve", "POST")) as response:
            page.get_by_role("button", name=re.compile(r"Keep one of each, delete 1")).click()
        assert response.value.ok, response.value.text()
        assert response.value.request.post_data_json == {"keep": original, "remove": [copy]}
        expect(dialog).to_be_hidden()
        expect(sample_row(page, copy)).to_have_count(0)
        expect(sample_row(page, original)).to_have_count(1)
        assert copy not in {s["path"] for s in api.get(f"/search/{LIB}", limit=1000)["samples"]}
        assert api.get(f"/duplicates/{LIB}")["groups"] == []
        del all_paths[next(c for c in DUPLICATES)]

    with step("keyboard help overlay"):
        help_overlay = page.locator("[data-testid=help-overlay]")
        page.locator("[data-testid=sample-table]").press("?")
        expect(help_overlay).to_be_visible()
        shot("09-help-overlay")
        page.keyboard.press("Escape")
        expect(help_overlay).to_be_hidden()
        page.get_by_role("button", name="Keyboard shortcuts").click()
        expect(help_overlay).to_be_visible()
        page.keyboard.press("Escape")
        expect(help_overlay).to_be_hidden()

    with step("map view: points, lasso"):
        view_switch(page, "Map").click()
        canvas = page.locator("canvas[data-testid=map-canvas]")
        expect(canvas).to_have_attribute("data-points", re.compile(r"^[1-9]\d*$"))
        mapped = api.get(f"/map/{LIB}")["points"]
        assert int(canvas.get_attribute("data-points") or 0) == len(mapped) == len(all_paths)
        shot("10-map")
        axe(page, "map")
        box = canvas.bounding_box()
        assert box is not None
        x0, y0, w, h = box["x"] + 2, box["y"] + 2, box["width"] * 0.55, box["height"] - 4
        page.mouse.move(x0, y0)
        page.mouse.down()
        for x, y in ((x0 + w, y0), (x0 + w, y0 + h), (x0, y0 + h), (x0, y0 + 1)):
            page.mouse.move(x, y, steps=12)
        page.mouse.up()
        lasso = page.locator("[data-testid=lasso-chip]")
        expect(lasso).to_contain_text(re.compile(r"Lasso: \d+ sounds?"))
        match = re.search(r"Lasso: (\d+)", lasso.text_content() or "")
        assert match, lasso.text_content()
        n_lasso = int(match.group(1))
        assert 0 < n_lasso < len(all_paths), f"the lasso over the left half holds {n_lasso} of {len(all_paths)} sounds"
        shot("11-map-lasso")

    with step("list view shows only the lasso's sounds"):
        view_switch(page, "List").click()
        shown, total = wait_count(page, f"shown === {n_lasso}")
        assert (shown, total) == (n_lasso, len(all_paths))
        assert len(all_rows(page)) == n_lasso

    with step("export the whole library"):
        page.get_by_role("button", name="Export").click()
        with page.expect_download() as download:
            menu_choice(page, "Whole library").click()
        archive = download.value.path()
        with zipfile.ZipFile(archive) as z:
            names = [n for n in z.namelist() if not n.endswith("/")]
            assert z.testzip() is None
        assert any("/Kits/" in n for n in names), names
        by_sample = {n.split("/", 1)[1] for n in names}
        assert by_sample == set(all_paths.values()), f"the ZIP holds {sorted(by_sample)}"
        folders = Counter(n.split("/", 1)[0] for n in names)
        assert folders["dusty"] >= len(DUSTY), folders
        assert f"Tom/{all_paths[CORRECTED]}" in names, names

    with step("sign out; a protected page redirects to /login"):
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(re.compile(r"/login"))
        assert stored_token(page) is None, "the token stays in localStorage after signing out"
        page.goto(f"{url}/libraries/{LIB}")
        expect(page).to_have_url(re.compile(r"/login(\?|$)"))
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()

    axe.assert_clean()


@pytest.mark.slow
def test_deep_link_opens_the_library_view(server: Server, page: Page, sample_folder: Path) -> None:
    """A signed-in full page load of /libraries/<name> (the server's index.html fallback, then Angular's router)."""
    url, mail = server.url, "deep-link@example.org"
    register = requests.post(f"{url}/register", data={"mail": mail, "password": PASSWORD}, timeout=30)
    assert register.status_code == 200, register.text
    auth = {"Authorization": f"Bearer {register.json()['token']}"}
    uploads = {"Drums": ["Kits/909/kick.wav", "Kits/808/kick.wav"], "Old Kits": ["Toms/low.wav"]}
    for lib, paths in uploads.items():
        response = requests.post(
            f"{url}/upload/{quote(lib)}",
            files=[("file", (p.rsplit("/", 1)[-1], (sample_folder / p).read_bytes())) for p in paths],
            data=[("path", p) for p in paths],
            headers=auth,
            timeout=60,
        )
        assert response.status_code == 200, response.text
        assert [f["status"] for f in response.json()["files"]] == ["stored"] * len(paths), response.text

    page.goto(f"{url}/libraries/Drums")
    expect(page).to_have_url(re.compile(r"/login\?returnUrl="))
    page.get_by_label("Mail", exact=True).fill(mail)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/login"))
    page.goto(f"{url}/libraries")
    cards = page.locator("[data-testid=library-card]")
    expect(cards).to_have_count(2)
    expect(cards.filter(has_text="Drums")).to_contain_text("2 sounds")
    expect(cards.filter(has_text="Old Kits")).to_contain_text("1 sound")

    for lib, paths in uploads.items():
        page.goto(f"{url}/libraries/{quote(lib)}")
        expect(page.locator("input[data-testid=search]")).to_be_visible()
        for path in paths:
            expect(sample_row(page, path)).to_be_visible()
        expect(page.locator(SAMPLE_ROW)).to_have_count(len(paths))
        assert result_count(page) == (len(paths), len(paths))
