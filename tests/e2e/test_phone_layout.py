"""Browser: a couple with a year of history (tests/e2e/history.py: ~50 past sessions, 44
check-ins over twelve months, one session stopped early, one under way with a counsellor,
one just started), at 390 px and at 1280 px.

On every screen a partner or their counsellor visits: nothing scrolls sideways (the page is
exactly as wide as the window, with every finished step opened to read again); scrolled to
the end, the floating Get help / Leave quickly pill covers no button, link or field; the tab
title is "Mend"; axe finds nothing. And what each screen must say or show on a phone: the
Read button whole, the check-in chart's labelled axes, distinct lines and unique point
labels in readable contrast, a 1-10 scale on one row, the chosen track marked by more than
colour, presence in words, done structured steps folded, a session that stopped early saying
so, and no "Ready for the next step" after a concerning answer to the private check.
"""

from __future__ import annotations

import contextlib
import re
import sys

import pytest

from tests.checking import concerning_answers
from tests.e2e import axe, flows
from tests.e2e.conftest import ARTIFACTS, Person
from tests.e2e.history import LONG_LINK, PASSWORD, SCALE_STEP, seed_year
from tests.live.conftest import MendServer

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the `browser` fixture skips (or fails in CI)
    expect = None

pytestmark = pytest.mark.real_check  # the seed answers (or leaves open) each check itself

WIDTHS = [390, 1280]
INTERACTIVE = "a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex='-1'])"


@pytest.fixture
def history(tmp_path, request):
    """A year of history in a fresh database, then `mend run` on it."""
    data_dir = tmp_path / "mend-data"
    data_dir.mkdir()
    seeded = seed_year(data_dir, flows.new_suffix())
    server = MendServer(data_dir, "gevent").start()
    yield server, seeded
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        sys.stderr.write(f"\n--- mend server log ---\n{server.log()[-4000:]}\n")
    server.stop()


def log_in(person: Person, email: str) -> None:
    page = person.page
    page.goto("/")
    page.get_by_test_id("tab-login").click()
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()


def open_every_fold(page) -> None:
    """Every "Read again" and "Show as a table" opened: what they hold must fit too."""
    page.evaluate("document.querySelectorAll('main details').forEach((d) => { d.open = true; })")


def expect_fits(page, screen: str) -> None:
    """No sideways scroll: the page is as wide as the window (and nothing pokes out)."""
    page.wait_for_function("document.documentElement.scrollWidth > 0")
    widths = page.evaluate("""() => {
        const doc = document.documentElement;
        const over = [...document.querySelectorAll('body *')].filter((el) => {
            const r = el.getBoundingClientRect();
            return r.width > 0 && (r.right > doc.clientWidth + 0.5 || r.left < -0.5);
        }).slice(0, 5).map((el) => `${el.tagName}.${el.className} [${el.dataset.testid || ''}]`);
        return { scroll: doc.scrollWidth, client: doc.clientWidth, over };
    }""")
    assert widths["scroll"] == widths["client"], f"{screen}: scrolls sideways {widths}"


def expect_pill_clear(page, screen: str) -> None:
    """Scrolled to the end, the floating pill's box overlaps no control of the page."""
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    tall = page.evaluate(
        "document.documentElement.scrollHeight > window.innerHeight + "
        "document.getElementById('topbar').offsetHeight")
    if tall:  # on a short page the buttons stay in the top bar and float over nothing
        expect(page.locator("#safety-actions.floating")).to_have_count(1)
    hits = page.evaluate("""(selector) => {
        const pill = document.querySelector('#safety-actions .safety-inner');
        const p = pill.getBoundingClientRect();
        return [...document.querySelectorAll(selector)].filter((el) => {
            if (pill.contains(el) || el.closest('#topbar')) return false;
            const r = el.getBoundingClientRect();
            if (r.width < 2 || r.height < 2) return false;  // nothing there to cover
            return r.left < p.right && r.right > p.left && r.top < p.bottom && r.bottom > p.top;
        }).map((el) => `${el.tagName} "${(el.textContent || el.value || '').trim().slice(0, 40)}"`);
    }""", INTERACTIVE)
    assert not hits, f"{screen}: the Get help / Leave quickly pill covers {hits}"


def check_screen(page, screen: str, log: axe.AxeLog, *, folds: bool = True) -> None:
    """What holds on every screen: fits the width, pill clear, neutral title, axe clean."""
    assert page.title() == "Mend", f"{screen}: the tab reads {page.title()!r}"
    axe.scan(page, screen, log)
    if folds and page.locator("main details:not([open])").count():
        open_every_fold(page)
        axe.scan(page, f"{screen}, every fold open", log)
    expect_fits(page, screen)
    expect_pill_clear(page, screen)


CONTRAST = """([selector, backgroundOf]) => {
    const rgb = (c) => (c.match(/[\\d.]+/g) || []).slice(0, 3).map(Number);
    const lum = ([r, g, b]) => {
        const f = (v) => {
            v /= 255;
            return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        };
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const bg = lum(rgb(getComputedStyle(document.querySelector(backgroundOf)).backgroundColor));
    return [...document.querySelectorAll(selector)].map((el) => {
        const fg = lum(rgb(getComputedStyle(el).fill));
        return (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    });
}"""


def expect_chart(page, history) -> None:
    """Each person's chart: a labelled y scale, titled axes, three lines told apart by dash
    and shape (and a legend), every point labelled once, axis text at 4.5:1 or better."""
    card = page.get_by_test_id("checkins-card")
    expect(card.get_by_test_id("checkin-legend").locator("li")).to_have_count(3)
    charts = card.get_by_test_id("checkin-chart")
    expect(charts).to_have_count(2)
    for n in range(2):
        chart = charts.nth(n)
        y_axis = chart.get_by_test_id("checkin-y-axis")
        expect(y_axis.get_by_test_id("checkin-y-title")).to_have_text("Rating, 1 to 10")
        ticks = y_axis.locator(".checkin-y-tick").all_text_contents()
        assert ticks[0] == "1" and ticks[-1] == "10" and len(ticks) >= 3, ticks
        expect(chart.get_by_test_id("checkin-x-title")).to_have_text(
            "Check-ins, oldest to latest")
        x_ticks = chart.locator(".checkin-x-tick").all_text_contents()
        assert len(x_ticks) >= 2 and len(set(x_ticks)) == len(x_ticks), x_ticks
        series = chart.locator("g.checkin-series")
        expect(series).to_have_count(3)
        dashes = [series.nth(i).locator(".checkin-line").get_attribute("stroke-dasharray")
                  for i in range(3)]
        assert len(set(dashes)) == 3, dashes
        shapes = [series.nth(i).locator(".checkin-mark").first.evaluate(
            "(el) => el.tagName + ' ' + getComputedStyle(el).fill") for i in range(3)]
        assert len(set(shapes)) == 3, shapes
        for i in range(3):
            titles = series.nth(i).locator(".checkin-mark title").all_text_contents()
            assert len(titles) == history.checkin_count, len(titles)
            labels = [t.split(":")[0] for t in titles]
            # Two check-ins on one day (morning and evening) still get a label each.
            assert len(set(labels)) == len(labels), [x for x in labels if labels.count(x) > 1]
    rows = card.get_by_test_id("checkin-table").first.locator("tbody th").all_inner_texts()
    dated = [re.sub(r"^\d+\. ", "", r) for r in rows]
    assert len(rows) == history.checkin_count and len(set(dated)) == len(dated), dated[-3:]
    ratios = page.evaluate(CONTRAST, [".checkin-axis", "[data-testid='checkins-card']"])
    assert ratios and min(ratios) >= 4.5, min(ratios)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_year_of_history_fits_the_screen_on_every_page(browser, history, request, width):
    server, seeded = history
    log = axe.AxeLog()
    sam = Person(browser, server.url, "Sam", {"width": width, "height": 844})
    lee = Person(browser, server.url, "Lee", {"width": width, "height": 844})
    people = [sam, lee]
    try:
        for someone in people:
            axe.serve_axe(someone.context, server.url)
        walk(sam, lee, seeded, log, width)
        assert len(log.screens) >= 9, log.screens
        for someone in people:
            assert not someone.exceptions, someone.exceptions
    finally:
        report = getattr(request.node, "rep_call", None)
        for someone in people:
            if report is None or report.failed:
                ARTIFACTS.mkdir(exist_ok=True)
                with contextlib.suppress(Exception):
                    someone.page.screenshot(
                        path=str(ARTIFACTS / f"failure-{request.node.name}-{someone.name}.png"),
                        full_page=True)
            someone.close()
    sys.stderr.write(log.report() + "\n")


def walk(sam: Person, lee: Person, seeded, log: axe.AxeLog, width: int) -> None:
    page = sam.page
    log_in(sam, seeded.b["email"])
    expect(page.get_by_test_id("greeting")).to_contain_text("Sam")

    # Home: ~50 past sessions, the chart, two sessions under way, the track picker.
    past = page.get_by_test_id("past-sessions").locator("li")
    expect(past).to_have_count(len(seeded.finished) + 1)
    expect(page.get_by_test_id("checkin-chart")).to_have_count(2)
    check_screen(page, f"home with a year of history ({width} px)", log)
    # Every Read button is whole, inside the window.
    edges = page.evaluate("""() => [...document.querySelectorAll(
        '[data-testid="past-sessions"] [data-testid^="session-link-"]')].map((a) => {
            const r = a.getBoundingClientRect();
            return [r.left, r.right, document.documentElement.clientWidth, a.textContent]; })""")
    assert len(edges) == len(seeded.finished) + 1
    assert all(left >= 0 and right <= client and text == "Read"
               for left, right, client, text in edges), edges[:3]
    # The stopped session reads as what happened to it.
    stopped = page.get_by_test_id(f"session-{seeded.stopped}")
    expect(stopped).to_contain_text(re.compile(r"Stopped early · \w"))
    expect_chart(page, seeded)
    # The chosen track: a check mark and "Selected", not only a colour.
    chosen = page.locator(".track-option input:checked + label")
    expect(chosen).to_have_count(1)
    expect(chosen.locator(".track-selected")).to_be_visible()
    tick = "(el) => getComputedStyle(el.querySelector('.track-tick')).borderRightColor"
    assert chosen.evaluate(tick) != "rgba(0, 0, 0, 0)"  # the check mark is drawn
    other = page.locator(".track-option input:not(:checked) + label").first
    expect(other.locator(".track-selected")).to_be_hidden()
    assert other.evaluate(tick) == "rgba(0, 0, 0, 0)"  # an empty ring

    # A finished weekly check-in: its review of commitments (a structured step) folded like
    # the prompts, and everything in it fits once opened.
    page.goto(f"/s/{seeded.long_link}")
    expect(page.get_by_test_id("step-progress")).to_have_text("Finished · 5 steps")
    review = flows.step(page, "last-weeks-commitments")
    expect(review.get_by_test_id("step-done")).to_have_count(1)
    expect(review.get_by_test_id("commitment-review")).to_be_hidden()
    review.locator("summary").click()
    expect(review.get_by_test_id("commitment-review")).to_be_visible()
    expect(review.locator(".step-title")).to_be_hidden()  # the summary line is its title
    # Read on a later day, the card doesn't say "nothing more to do here today".
    expect(page.get_by_test_id("ended-text")).to_have_text(
        "You finished this track together. Read it back whenever it helps.")
    check_screen(page, f"a finished weekly check-in, every step open ({width} px)", log)
    # (What was checked includes a pasted link with no spaces, which must wrap.)
    expect(page.locator("main")).to_contain_text(LONG_LINK)

    page.goto(f"/s/{seeded.long_link}/summary")
    expect(page.locator("main")).to_contain_text(LONG_LINK)
    check_screen(page, f"its summary ({width} px)", log)

    # The session that stopped at its check a week ago says so, and offers no empty summary.
    page.goto(f"/s/{seeded.stopped}")
    expect(page.get_by_test_id("step-progress")).to_have_text(
        "Stopped early · before the first step")
    banner = page.get_by_test_id("finished-banner")
    expect(banner.locator("#finished-title")).to_have_text("This session stopped early")
    expect(banner.get_by_test_id("finished-at")).to_contain_text("Stopped ")
    expect(banner.get_by_test_id("summary-note")).to_have_text(
        "It stopped before the first step, so nothing was shared and there is no summary "
        "to read.")
    expect(banner.get_by_test_id("summary-link")).to_have_count(0)
    check_screen(page, f"a session stopped early, a week on ({width} px)", log)

    page.goto("/account")
    expect(page.locator("main h1")).to_be_visible()
    check_screen(page, f"account ({width} px)", log)

    # The session under way, on its 1-10 scale, with a counsellor: the scale on one row, and
    # Robin's absence in words.
    page.goto(f"/s/{seeded.active}")
    expect(page.get_by_test_id("connection-status")).to_have_text("Connected")
    scale = flows.step(page, SCALE_STEP).locator(".scale-option label")
    expect(scale).to_have_count(10)
    tops = {round(box["y"]) for box in (scale.nth(i).bounding_box() for i in range(10))}
    assert len(tops) == 1, f"the 1-10 scale wraps onto {len(tops)} rows"
    widths = [scale.nth(i).bounding_box()["width"] for i in range(10)]
    assert min(widths) >= 24, widths  # each still a target of at least 24 px
    robin = page.get_by_test_id("participant").filter(has_text="Robin")
    expect(robin.get_by_test_id("presence")).to_have_text("is away")
    expect(robin).to_contain_text("Robin is away")
    check_screen(page, f"a session under way, on its scale ({width} px)", log)

    # The counsellor's dashboard and their view of the session.
    log_in(lee, seeded.counsellor["email"])
    expect(lee.page.get_by_test_id("dashboard-title")).to_have_text("Your sessions")
    # Who is there, in words on the dashboard too (Sam has the session open; Robin doesn't).
    partners = lee.page.get_by_test_id("dash-partner")
    expect(partners.filter(has_text="Robin")).to_contain_text("Robin is away")
    expect(partners.filter(has_text="Sam")).to_contain_text("Sam is here")
    check_screen(lee.page, f"the counsellor's dashboard ({width} px)", log)
    lee.page.goto(f"/s/{seeded.active}")
    expect(lee.page.get_by_test_id("connection-status")).to_have_text("Connected")
    expect(page.get_by_test_id("participant").filter(has_text="Lee")).to_contain_text(
        "is here")
    check_screen(lee.page, f"the counsellor in the session ({width} px)", log)

    # The session just started: a concerning answer to the private check brings support
    # and "Stop for today" — and no way on to the next step under it.
    page.goto(f"/s/{seeded.fresh}")
    flows.answer_check(page, concerning_answers())
    support = page.get_by_test_id("check-support")
    expect(support.get_by_test_id("check-stop")).to_have_text("Stop for today")
    # (The steps behind the check are drawn but hidden until it passes: nothing of them shows.)
    for testid in ("ready-button", "continue-button"):
        expect(page.locator(f"[data-testid='{testid}']:visible")).to_have_count(0)
    expect(page.get_by_text("Ready for the next step").locator("visible=true")).to_have_count(0)
    expect(page.get_by_test_id("steps")).to_be_hidden()
    check_screen(page, f"support after a concerning answer ({width} px)", log)
    support.get_by_test_id("check-stop").click()
    flows.expect_stopped(page)  # today it is the content's "…for today" card
    expect(page.get_by_test_id("step-progress")).to_have_text(
        "Stopped early · before the first step")
    check_screen(page, f"a session stopped today ({width} px)", log)
