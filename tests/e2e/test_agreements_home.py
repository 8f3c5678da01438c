"""'Our agreements' on the home, in two real browsers (1280 px and 390 px), axe on each.

The couple's agreements are seeded into a fresh database as the boundary step stores them
(tests/integration/test_agreements.py makes them on a real boundary step): one active, one
whose revisit date has come, one Sam set aside yesterday. Robin reads Sam's change in a
sentence; Robin keeps the due one going, then withdraws one after a confirmation; Sam's home
shows the withdrawal, live, with the sentence naming Robin. No sideways scroll on the phone.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import sessionmaker

from server.db import make_engine, upgrade
from server.models import CoupleRecord
from server.services import accounts, couples
from tests.e2e import axe
from tests.e2e.conftest import Person
from tests.e2e.flows import expect
from tests.live.conftest import MendServer

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
CALL = "I need a call if you'll be more than an hour late / I'll do the same for you"
COOK = "I'll cook on Fridays"
WALK = "I need a walk on my own on Sunday mornings"


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds") + "Z"


def seed(data_dir) -> dict:
    url = f"sqlite:///{data_dir / 'mend.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    db = sessionmaker(engine, expire_on_commit=False)()
    now = datetime.utcnow()
    try:
        robin = accounts.sign_up(db, email="robin-agreements@example.test", password=PASSWORD,
                                 display_name="Robin")
        sam = accounts.sign_up(db, email="sam-agreements@example.test", password=PASSWORD,
                               display_name="Sam")
        code = couples.create_couple(db, robin.id)["invite_code"]
        couple_id = couples.join_couple(db, sam.id, code)["id"]
        made = now - timedelta(days=40)

        def agreement(text, by, *, status="active", revisit, changes=()):
            data = {"text": text, "revisit_on": revisit.date().isoformat(), "revisit_days": 30,
                    "proposed_by": by, "item_id": f"{by}-1", "changes": list(changes)}
            record = CoupleRecord(couple_id=couple_id, kind="agreement", status=status,
                                  data=data, user_id=by, created_at=made, updated_at=made)
            db.add(record)
            return record

        call = agreement(CALL, robin.id, revisit=now + timedelta(days=20))
        cook = agreement(COOK, sam.id, revisit=now - timedelta(days=1))  # due for review
        agreement(WALK, robin.id, status="set_aside", revisit=now + timedelta(days=5),
                  changes=[{"move": "set-aside", "by": sam.id,
                            "at": iso(now - timedelta(days=1))}])
        db.commit()
        return {"call": call.id, "cook": cook.id}
    finally:
        db.close()
        engine.dispose()


def log_in(person: Person, email: str) -> None:
    page = person.page
    page.goto(f"{person.base_url}/")
    page.get_by_test_id("tab-login").click()
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("agreements-card")).to_be_visible()


def no_sideways_scroll(page) -> None:
    wide = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert wide[0] <= wide[1], f"the page scrolls sideways: {wide}"


def agreement(page, text: str):
    return page.get_by_test_id("agreement").filter(has_text=text)


@pytest.fixture
def couple_home(browser, tmp_path):
    data_dir = tmp_path / "mend-data"
    data_dir.mkdir()
    ids = seed(data_dir)
    server = MendServer(data_dir, "gevent").start()
    robin = Person(browser, server.url, "Robin", {"width": 1280, "height": 900})
    sam = Person(browser, server.url, "Sam", {"width": 390, "height": 844})
    for someone in (robin, sam):
        axe.serve_axe(someone.context, server.url)
    try:
        yield robin, sam, ids
    finally:
        robin.close()
        sam.close()
        server.stop()


def test_our_agreements_on_home_at_1280_and_390(couple_home):
    robin, sam, _ids = couple_home
    log_in(robin, "robin-agreements@example.test")
    log_in(sam, "sam-agreements@example.test")
    r, s = robin.page, sam.page

    # Both see every agreement with its status in words; Robin is told of Sam's change.
    for page in (r, s):
        expect(agreement(page, CALL).get_by_test_id("agreement-status")).to_have_text("Active")
        expect(agreement(page, COOK).get_by_test_id("agreement-status")).to_have_text(
            "Due for review")
        expect(agreement(page, WALK).get_by_test_id("agreement-status")).to_have_text(
            "Set aside")
        expect(page.get_by_test_id("agreements-due-line")).to_contain_text(
            "One agreement is due for review")
    expect(r.get_by_test_id("agreements-notice")).to_contain_text(
        f"Sam set aside the agreement “{WALK}”.")
    expect(s.get_by_test_id("agreements-notice")).to_have_count(0)
    expect(agreement(r, WALK).get_by_test_id("agreement-when")).to_contain_text("Set aside by Sam")
    expect(agreement(s, WALK).get_by_test_id("agreement-when")).to_contain_text("Set aside by you")
    for page in (r, s):  # every line is words: nothing empty drawn as "null"
        expect(page.get_by_test_id("agreements-card")).not_to_contain_text("null")
    no_sideways_scroll(s)
    axe.scan(r, "home: our agreements (1280 px)")
    axe.scan(s, "home: our agreements (390 px)")

    # Robin keeps the due one going: a new date, no longer due, on both screens.
    agreement(r, COOK).get_by_test_id("agreement-keep").click()
    for page in (r, s):
        expect(agreement(page, COOK).get_by_test_id("agreement-status")).to_have_text("Active")
        expect(page.get_by_test_id("agreements-due-line")).to_have_count(0)

    # Withdrawing asks first, saying what Sam will see; Cancel changes nothing.
    agreement(r, CALL).get_by_test_id("agreement-withdraw").click()
    confirm = agreement(r, CALL).get_by_test_id("agreement-confirm-box")
    expect(confirm).to_contain_text("Sam will see that you withdrew it")
    expect(agreement(r, CALL).get_by_test_id("agreement-confirm")).to_be_focused()
    axe.scan(r, "home: confirming a withdrawal (1280 px)")
    agreement(r, CALL).get_by_test_id("agreement-cancel").click()
    expect(agreement(r, CALL).get_by_test_id("agreement-status")).to_have_text("Active")
    agreement(r, CALL).get_by_test_id("agreement-withdraw").click()
    agreement(r, CALL).get_by_test_id("agreement-confirm").click()

    # Sam's phone shows it live: withdrawn (tucked under "Withdrawn"), and a sentence.
    expect(s.get_by_test_id("agreements-notice").filter(has_text="Robin withdrew")).to_contain_text(
        f"Robin withdrew the agreement “{CALL}”.")
    s.get_by_test_id("agreements-withdrawn").locator("summary").click()
    expect(agreement(s, CALL).get_by_test_id("agreement-status")).to_have_text("Withdrawn")
    expect(agreement(s, CALL).get_by_test_id("agreement-withdraw")).to_have_count(0)
    expect(agreement(r, CALL)).to_be_hidden()  # Robin's withdrawn list is closed
    no_sideways_scroll(s)
    axe.scan(s, "home: an agreement withdrawn by the partner (390 px)")

    # Sam brings back the one set aside (no confirmation needed: nothing is lost).
    agreement(s, WALK).get_by_test_id("agreement-reinstate").click()
    for page in (r, s):
        expect(agreement(page, WALK).get_by_test_id("agreement-status")).to_have_text("Active")
    expect(r.get_by_test_id("agreements-notice").filter(has_text="brought back")).to_contain_text(
        f"Sam brought back the agreement “{WALK}”.")
    assert robin.errors == [] and sam.errors == []


def test_the_browser_flags_exactly_what_the_server_flags(couple_home):
    """The editor's flag while writing (client/js/kinds/boundary.js) and the item's flag
    from the server use one rule: the shipped rules over the flag table, in the browser."""
    from pathlib import Path

    from server.content import load_library
    from server.engine.kinds.boundary import flags_for
    from tests.unit.test_boundary_flags import MUST_FLAG, MUST_NOT_FLAG_NEEDS, OFFERS

    robin, _sam, _ids = couple_home
    log_in(robin, "robin-agreements@example.test")
    library = load_library(Path(__file__).resolve().parents[2] / "content")
    step = next(s for t in library for s in t.steps if s.kind == "boundary")
    flags = [dict(rule, phrases=list(rule["phrases"])) for rule in step.settings["flags"]]
    texts = [*MUST_FLAG, *MUST_NOT_FLAG_NEEDS, *OFFERS,
             "Your  PASSWORDS", "you to answer my calls straight away", "prove it",
             "a passwordless login for us both", "to improve how we talk", "a curfewless week"]
    browser = robin.page.evaluate(
        """async ([flags, texts]) => {
            const m = await import('/static/js/kinds/boundary.js');
            return texts.map((t) => m.flagsFor({ settings: { flags } }, t).map((f) => f.id));
        }""", [flags, texts])
    server = [[f["id"] for f in flags_for(step, t)] for t in texts]
    assert browser == server
    assert any(browser) and not all(browser)
