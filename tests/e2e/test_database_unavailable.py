"""The database out of reach while someone writes: the page says so in the server's own
sentence, keeps their words, never claims "Saved", and saves the draft by itself once the
database takes writes again.

Real parts only: the test holds SQLite's write lock on the server's own database file
longer than the server's busy timeout (5 s), so each draft save the browser sends is
refused `unavailable`; then it lets go.
"""

from __future__ import annotations

import sqlite3

import pytest

from server.db import UNAVAILABLE_MESSAGE
from tests.conftest import unique_marker
from tests.e2e import flows
from tests.e2e.flows import expect

pytestmark = pytest.mark.e2e

STEP = flows.TEXT_STEP
# A refused save takes the 5-s busy timeout; the client tries again 5 s after a refusal.
REFUSAL_MS = 15_000


def test_a_draft_the_database_cannot_take_is_kept_said_and_saved_when_it_can(
        partners, mend_server):
    alex, sam = partners
    a = alex.page
    session_id = flows.couple_in_session(alex, sam)
    box = flows.step(a, STEP)
    first = f"Trust is {unique_marker('alex-first')}."
    flows.write_draft(a, STEP, first)
    save_status = box.get_by_test_id("save-status")

    holder = sqlite3.connect(mend_server.data_dir / "mend.sqlite3", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the write lock: every other writer waits, then fails
    try:
        newer = f"{first} And {unique_marker('alex-newer')}."
        box.get_by_test_id("answer-text").fill(newer)
        expect(save_status).to_have_text(f"Not saved: {UNAVAILABLE_MESSAGE}",
                                         timeout=REFUSAL_MS)
        expect(save_status).to_have_attribute("data-state", "error")
        expect(box.get_by_test_id("answer-text")).to_have_value(newer)
        draft = holder.execute(
            "SELECT body FROM drafts WHERE session_id = ?", (session_id,)).fetchall()
        assert draft == [(first,)], draft
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    # Nobody typed since: the client sends the draft again by itself.
    expect(save_status).to_contain_text("Saved", timeout=REFUSAL_MS)
    draft = flows.step_state(flows.session_state(alex, session_id), STEP)["mine"]["draft"]
    assert draft["body"] == newer
    assert alex.exceptions == [], alex.exceptions
