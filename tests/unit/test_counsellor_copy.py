"""The invite-a-counsellor panel tells the truth (issue 16): each thing its lists say a
counsellor will or won't see is checked against what the projection actually sends a
counsellor, with planted words. Change the behaviour and this fails until the copy in
client/js/views/moderation.js changes too (and the other way round)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from server.engine import session as engine
from server.engine.tracks import Step, Track
from server.engine.visibility import summary_for, view_for

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 27, 9, 0, 0)
A, B, C = "user-a", "user-b", "user-c"
PEOPLE = (engine.Participant(A, "Ana", "partner"), engine.Participant(B, "Ben", "partner"),
          engine.Participant(C, "Cleo", "counsellor"))
TRACK = Track(id="t", title="T", summary="S.", version=1, steps=(
    Step(id="checkin", kind="checkin", title="Check-in", prompt="How are you?",
         settings={"ratings": [{"id": "trust", "label": "Trust"}], "max": 999}),
    Step(id="apology", kind="apology", title="An apology", prompt="About Friday."),
    Step(id="bye", kind="info", title="Bye", body="Until next time."),
))
PARTS = {"act": "PART-ACT", "impact": "PART-IMPACT", "responsibility": "PART-MINE",
         "regret": "PART-REGRET", "change": "PART-CHANGE"}


def copy_lists() -> dict[str, str]:
    source = (ROOT / "client/js/views/moderation.js").read_text(encoding="utf-8")
    found = {}
    for name in ("WILL_SEE", "WONT_SEE"):
        body = re.search(rf"const {name} = \[(.*?)\n\];", source, re.S).group(1)
        found[name] = " ".join(re.findall(r"""['"](.*?)['"],\n""", body)).lower()
    return found


def counsellor_receives() -> str:
    """Both partners check in (numbers kept from each other), then an apology is offered,
    heard, said back, sent and answered, with a counsellor present throughout."""
    state = engine.SessionState(id="s1", track=TRACK, participants=PEOPLE, created_at=T0)
    n = 0

    def do(action):
        nonlocal state, n
        n += 1
        state = engine.handle(state, action, T0 + timedelta(seconds=n)).state

    def turn(user, name, body=None, fields=None):
        do(engine.SubmitTurn(user, "apology", f"t{n}", f"client-{n:04}", name, body, fields))

    for uid, number in ((A, 731), (B, 352)):
        do(engine.SubmitEntry(uid, "checkin", f"e-{uid}", f"c-{uid}", None,
                              {"ratings": {"trust": number}, "high": f"CHECKIN-HIGH-{uid}",
                               "support": "listening"}))
    for uid in (A, B):
        do(engine.MarkReady(uid, "checkin"))
    turn(A, "offer", fields={"role": "apologising"})
    turn(B, "accept")
    turn(B, "hurt", fields={"felt": "HURT-SAID", "why": "HURT-WHY"})
    turn(A, "mirror", "MIRROR-SAID")
    do(engine.SaveDraft(A, "apology", None, {**PARTS, "setup": "DRAFT-ONLY"}))
    turn(A, "apology", fields=PARTS)
    do(engine.SaveDraft(B, "apology", None, {"reflect": "REFLECT-DRAFT"}))
    return json.dumps(view_for(state, C)) + json.dumps(summary_for(state, C))


# (which list, words it must contain, planted words, whether the counsellor receives them)
CLAIMS = [
    ("WILL_SEE", "check-ins in this session, with their numbers",
     ["CHECKIN-HIGH-user-a", '"trust": 731', '"trust": 352'], True),
    ("WILL_SEE", "what the hurt partner says", ["HURT-SAID", "HURT-WHY"], True),
    ("WILL_SEE", "what each of you says back", ["MIRROR-SAID"], True),
    ("WONT_SEE", "the apology itself", [v for k, v in PARTS.items() if k != "change"], False),
    ("WONT_SEE", "what will change is kept as a commitment, which they do see",
     [PARTS["change"]], True),
    ("WONT_SEE", "drafts", ["DRAFT-ONLY", "REFLECT-DRAFT"], False),
]


@pytest.mark.parametrize(("where", "words", "planted", "sees"), CLAIMS,
                         ids=[c[1] for c in CLAIMS])
def test_each_claim_in_the_invite_panel_matches_what_a_counsellor_receives(
        where, words, planted, sees):
    assert words in copy_lists()[where], f"the panel's {where} no longer says {words!r}"
    received = counsellor_receives()
    for mark in planted:
        assert (mark in received) is sees, \
            f"{mark}: the counsellor {'does not receive' if sees else 'receives'} it"


def test_the_panel_does_not_claim_the_opposite():
    """The old copy said apologies were seen and check-ins not (both wrong)."""
    lists = copy_lists()
    assert "apologies" not in lists["WILL_SEE"]
    assert "your check-ins" not in lists["WONT_SEE"]


def test_the_notice_shown_while_a_counsellor_is_present_says_the_same():
    """The persistent notice (server/engine/visibility.py) names the apology's exception."""
    from server.engine.visibility import COUNSELLOR_NOTICE

    notice = COUNSELLOR_NOTICE.lower()
    assert "except an apology's own words" in notice
    received = counsellor_receives()
    assert all(part not in received for key, part in PARTS.items() if key != "change")
