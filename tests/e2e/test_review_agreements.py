"""Browser: agreements whose revisit date has come open the next session's review, right
after the welcome card. One partner keeps one going (a new date, no confirmation), the
other withdraws the other after a confirmation that says what the partner will see; both
screens say who did what; nothing has to be answered before going on. The agreements are
seeded straight into the server's database (as if made on a boundary step weeks ago)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from server.db import make_engine
from server.models import Couple, CoupleRecord
from server.models.base import utcnow
from tests.e2e import axe, flows
from tests.e2e.flows import step

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the `browser` fixture skips (or fails in CI)
    expect = None

TRACK = "understanding-our-trust"
REVIEW = "last-time-commitments"
LATE = "I need a text when you're running late"
COOK = "I'll cook on Fridays"


def seed_due_agreements(data_dir) -> None:
    """Two active agreements of the only couple, made a month ago, due since long ago."""
    engine = make_engine(f"sqlite:///{data_dir / 'mend.sqlite3'}")
    try:
        with sessionmaker(engine)() as db:
            couple = db.scalars(select(Couple)).one()
            by = couple.members[0].user_id
            made = utcnow() - timedelta(days=30)
            for text, need, offer in ((LATE, "a text when you're running late", None),
                                      (COOK, None, "cook on Fridays")):
                db.add(CoupleRecord(
                    couple_id=couple.id, kind="agreement", status="active", user_id=by,
                    data={"text": text, "need": need, "offer": offer, "proposed_by": by,
                          "revisit_on": "2000-01-01", "revisit_days": 14},
                    created_at=made, updated_at=made))
            db.commit()
    finally:
        engine.dispose()


def test_due_agreements_in_the_review_after_the_welcome_card(partners, mend_server):
    alex, sam = partners
    for person in (alex, sam):
        axe.serve_axe(person.context, person.base_url)
    flows.pair_up(alex, sam)
    seed_due_agreements(mend_server.data_dir)
    a = alex.page
    a.goto("/")
    a.get_by_test_id(f"track-{TRACK}").check()
    a.get_by_test_id("start-session").click()
    a.get_by_test_id("confirm-start").click()
    a.wait_for_url(re.compile(r"/s/[^/]+$"))
    session_id = a.url.rsplit("/", 1)[1]
    flows.open_session(sam, session_id)
    flows.pass_checks(alex, sam)
    for person in (alex, sam):  # the welcome card first
        step(person.page, "welcome").get_by_test_id("continue-button").click()
    rows = {}
    for person in (alex, sam):
        box = step(person.page, REVIEW)
        expect(box.get_by_test_id("review-agreement")).to_have_count(2)
        rows[person.name] = {text: box.get_by_test_id("review-agreement").filter(has_text=text)
                             for text in (LATE, COOK)}
    # No commitments this time: the words about commitments stay out of it.
    expect(step(sam.page, REVIEW)).not_to_contain_text("made a commitment")
    expect(step(sam.page, REVIEW)).to_contain_text("Agreements due for a look")
    axe.scan(sam.page, "review with agreements due (phone)")
    # Alex keeps one going: no confirmation, a new date on both screens.
    rows["Alex"][LATE].get_by_test_id("review-agreement-keep").click()
    expect(rows["Alex"][LATE].get_by_test_id("review-agreement-answer")).to_contain_text(
        "You kept it going. Next look:")
    expect(rows["Sam"][LATE].get_by_test_id("review-agreement-answer")).to_contain_text(
        "Alex kept it going.")
    # Sam withdraws the other: asked first, in words that say what Alex will see.
    rows["Sam"][COOK].get_by_test_id("review-agreement-withdraw").click()
    expect(rows["Sam"][COOK]).to_contain_text("Alex will see that it was withdrawn")
    axe.scan(sam.page, "review: withdraw an agreement, confirmation (phone)")
    rows["Sam"][COOK].get_by_test_id("review-agreement-confirm").click()
    expect(rows["Alex"][COOK].get_by_test_id("review-agreement-answer")).to_have_text(
        "Sam withdrew it.")
    # No commitments to answer: both go on.
    for person in (alex, sam):
        step(person.page, REVIEW).get_by_test_id("ready-button").click()
    for person in (alex, sam):
        expect(person.page.get_by_test_id("step-progress")).to_contain_text("Step 3 of")
    # Home says the same, and the session's summary keeps what was done.
    a.goto("/")
    expect(a.get_by_test_id("agreements-card")).to_contain_text("Withdrawn")
    a.goto(f"/s/{session_id}/summary")
    done = a.get_by_test_id("summary-review-agreements")
    expect(done).to_contain_text("Sam withdrew it.")
    expect(done).to_contain_text("You kept it going.")
    for person in (alex, sam):
        assert not person.exceptions, person.exceptions
