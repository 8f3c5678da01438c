"""A couple's next session asks each how their commitments went, right after the track's
welcome card: over real sockets and a real database, with the shipped tracks and
content/review-step.yaml. Replying is optional, "Let's talk about this" becomes a topic of
a later listening step, either partner can skip the review for today, a track reviews only
the commitments it fits (small-steps-of-appreciation no apology) and an apology's
commitment comes back for three check-ins."""

from __future__ import annotations

from dataclasses import replace

import pytest

from server.engine.tracks import Step, Track
from tests.checking import clear_answers
from tests.integration.test_session_loop import last_state

CHECKIN = {"ratings": {"trust": 6, "closeness": 6, "mood": 6}, "support": "listening"}
REVIEW = "last-time-commitments"


class Pair:
    """Both partners in one session of `track_id`; after each action the last pushed view
    must equal a fresh load."""

    def __init__(self, app, couple, track_id: str):
        created = couple.a.post("/sessions", {"couple_id": couple.couple_id,
                                              "track_id": track_id})
        assert created.status_code == 201, created.get_json()
        self.sid = created.get_json()["session"]["id"]
        self.people = {"a": couple.a, "b": couple.b}
        self.socks = {"a": couple.a.socket(app), "b": couple.b.socket(app)}
        self.held = {}
        for sock in self.socks.values():
            assert sock.emit("session:join", {"session_id": self.sid}, callback=True)["ok"]
        for name, sock in self.socks.items():
            sock.get_received()
            self.held[name] = self.people[name].get(f"/sessions/{self.sid}").get_json()["state"]

    def act(self, who: str, event: str, ok: bool = True, **payload) -> dict:
        ack = self.socks[who].emit(event, {"session_id": self.sid, **payload}, callback=True)
        assert ack["ok"] is ok, (event, payload, ack)
        for name, sock in self.socks.items():
            pushed = last_state(sock.get_received(), self.sid)
            if pushed is not None:
                self.held[name] = pushed
            fresh = self.people[name].get(f"/sessions/{self.sid}").get_json()["state"]
            assert self.held[name] == fresh, f"after {who} {event}, {name} is stale"
        return ack

    def step_ids(self, who: str = "a") -> list[str]:
        return [s["id"] for s in self.held[who]["steps"]]

    def step(self, who: str, step_id: str) -> dict:
        return next(s for s in self.held[who]["steps"] if s["id"] == step_id)

    def both_ready(self, step_id: str) -> None:
        self.act("a", "step:ready", step_id=step_id)
        self.act("b", "step:ready", step_id=step_id)

    def answer_check(self, who: str) -> None:
        """This partner answers the session's private check, clear."""
        self.act(who, "check:submit", client_id=f"check-{who}-{self.sid[:12]}",
                 fields={"answers": clear_answers()})

    def close(self) -> None:
        for sock in self.socks.values():
            if sock.is_connected():
                sock.disconnect()


def make_commitments(app, couple, answer_check: bool = False) -> None:
    """Session 1 on weekly-check-in, as far as both commitments being revealed (in a test
    marked `real_check`, both partners first answer the session's private check)."""
    s = Pair(app, couple, "weekly-check-in")
    if answer_check:
        s.answer_check("a"), s.answer_check("b")
    # weekly-check-in has its own review step: no second one
    assert "last-time-commitments" not in s.step_ids()
    s.both_ready("welcome")
    if s.step("a", "last-weeks-commitments")["review"]["items"]:
        # an apology's commitment made earlier: look back on it another day
        s.act("a", "turn:submit", step_id="last-weeks-commitments", client_id="wk-skip-0001",
              kind="skip")
    else:
        s.both_ready("last-weeks-commitments")
    for who in ("a", "b"):
        s.act(who, "entry:submit", step_id="this-week", client_id=f"ck-{who}-0001",
              fields=CHECKIN)
    s.both_ready("this-week")
    s.act("a", "entry:submit", step_id="this-weeks-commitment", client_id="cm-a-0001",
          body="I'll text when I'm running late.")
    s.act("b", "entry:submit", step_id="this-weeks-commitment", client_id="cm-b-0001",
          body="I'll put my phone away at dinner.")
    made = [c for c in s.held["a"]["commitments"] if c["session_id"] == s.sid]
    assert [c["status"] for c in made] == ["open", "open"]
    s.close()


def library_with(app, *tracks: Track):
    """The app's library (review step and check included) with hand-made tracks added;
    returns a function that puts the original back."""
    ctx = app.extensions["mend"]
    original = ctx.library
    ctx.library = replace(original, tracks={**original.tracks, **{t.id: t for t in tracks}})
    return lambda: setattr(ctx, "library", original)


APOLOGY_TRACK = Track(id="sorry-test", title="Sorry", summary="For tests.", version=1, steps=(
    Step(id="sorry", kind="apology", title="An apology", prompt="About Friday."),
    Step(id="after", kind="info", title="After", body="That's all."),
))


@pytest.fixture
def apology_track(app):
    restore = library_with(app, APOLOGY_TRACK)
    yield
    restore()


def make_apology_commitment(app, couple) -> str:
    """A (apologising) sends an apology whose "what will change" becomes a commitment
    (source "apology"); B answers and both finish the session. Returns the record id."""
    s = Pair(app, couple, APOLOGY_TRACK.id)
    assert REVIEW not in s.step_ids()  # nothing to look back on yet

    def turn(who, kind, n, body=None, fields=None):
        s.act(who, "turn:submit", step_id="sorry", client_id=f"ap-{who}-{n:04d}", kind=kind,
              body=body, fields=fields)

    turn("a", "offer", 1, fields={"role": "apologising"})
    turn("b", "accept", 2)
    turn("b", "hurt", 3, fields={"felt": "Forgotten", "why": "Our day", "need": "Honesty"})
    turn("a", "mirror", 4, body="You felt forgotten on our day")
    turn("a", "apology", 5, fields={"act": "I forgot our day", "impact": "You felt forgotten",
                                    "responsibility": "I didn't plan", "regret": "I'm sorry",
                                    "change": "APOLOGY-CHANGE I'll plan our dates with you"})
    turn("b", "reflect", 6, body="You own that you forgot")
    turn("b", "response", 7, fields={"choice": "more_time"})
    s.both_ready("sorry")
    s.both_ready("after")
    record = next(c for c in s.held["a"]["commitments"] if c["source"] == "apology")
    s.close()
    return record["id"]


def review_items(s: Pair, who: str = "a") -> dict[str, dict]:
    """record id -> review item, as `who` sees the review."""
    return {i["record"]["id"]: i for i in s.step(who, REVIEW)["review"]["items"]}


def check(s: Pair, who: str, record_id: str, status: str, n: int = 1) -> None:
    s.act(who, "turn:submit", step_id=REVIEW, client_id=f"rv-{who}-{record_id[:8]}-{n}",
          kind="check", fields={"record_id": record_id, "status": status})


def test_the_review_comes_after_the_welcome_card_and_replying_is_optional(app, couple):
    make_commitments(app, couple)
    a_id, b_id = couple.a.user["id"], couple.b.user["id"]

    s = Pair(app, couple, "understanding-our-trust")
    # The welcome card (privacy notice, Get help) is read first; the review waits for it.
    assert s.step_ids()[:2] == ["welcome", REVIEW]
    assert s.held["b"]["session"]["current_step_id"] == "welcome"
    assert "review" not in s.step("b", REVIEW)  # a step not reached shows nothing yet
    refused = s.act("a", "turn:submit", ok=False, step_id=REVIEW, client_id="rv-a-early",
                    kind="skip")
    assert refused["error"]["code"] == "conflict"
    s.both_ready("welcome")
    assert s.held["b"]["session"]["current_step_id"] == REVIEW
    review = s.step("b", REVIEW)
    assert review["kind"] == "commitment" and review["title"] == "Looking back together"
    assert review["review"]["skipped"] is False and review["review"]["talk_step"] is None
    items = {i["record"]["user_id"]: i["record"]["id"] for i in review["review"]["items"]}
    assert set(items) == {a_id, b_id}
    # Each says how theirs went before moving on ...
    s.act("a", "step:ready", ok=False, step_id=REVIEW)
    check(s, "a", items[a_id], "kept")
    s.act("a", "step:ready", ok=False, step_id=REVIEW)
    check(s, "b", items[b_id], "not_yet")
    # ... and nobody has to reply: A moves on without thanking B for a "not yet".
    s.act("b", "turn:submit", step_id=REVIEW, client_id="rv-b-ack", kind="ack",
          fields={"record_id": items[a_id], "ack": "thanks"})
    s.both_ready(REVIEW)
    assert s.held["a"]["session"]["current_step_id"] == "what-trust-means"
    done = review_items(s, "b")
    assert done[items[b_id]]["ack"] is None and done[items[a_id]]["ack"]["ack"] == "thanks"
    statuses = {c["user_id"]: c["status"] for c in s.held["b"]["commitments"]}
    assert statuses == {a_id: "kept", b_id: "not_yet"}
    s.close()

    # An everyday commitment is looked back on once: the next session opens as written.
    s = Pair(app, couple, "in-each-others-shoes")
    assert REVIEW not in s.step_ids()
    s.close()


def test_either_partner_skips_the_review_for_both_and_it_comes_back_next_time(app, couple):
    make_commitments(app, couple)
    a_id, b_id = couple.a.user["id"], couple.b.user["id"]
    s = Pair(app, couple, "in-each-others-shoes")
    s.both_ready("welcome")
    items = {i["record"]["user_id"]: i["record"]["id"]
             for i in s.step("a", REVIEW)["review"]["items"]}
    check(s, "a", items[a_id], "kept")
    # B would rather not look back today: one skip sets it aside for both.
    s.act("b", "turn:submit", step_id=REVIEW, client_id="rv-b-skip", kind="skip")
    for who in ("a", "b"):
        assert s.held[who]["session"]["current_step_id"] == "about-triggers"
        review = s.step(who, REVIEW)
        assert review["status"] == "done" and review["review"]["skipped"] is True
        # what was said stays; what wasn't is not listed as answered
        assert [i["record"]["id"] for i in review["review"]["items"]] == [items[a_id]]
    statuses = {c["user_id"]: c["status"] for c in s.held["a"]["commitments"]}
    assert statuses == {a_id: "kept", b_id: "open"}
    refused = s.act("a", "turn:submit", ok=False, step_id=REVIEW, client_id="rv-a-skip",
                    kind="skip")
    assert refused["error"]["code"] == "conflict"
    # B's retry of the same skip (an answer lost on the way) is the same skip, not an error
    again = s.act("b", "turn:submit", step_id=REVIEW, client_id="rv-b-skip", kind="skip")
    assert again["turn"]["kind"] == "skip"
    assert s.held["a"]["session"]["current_step_id"] == "about-triggers"
    markdown = couple.a.client.get(f"/api/v1/sessions/{s.sid}/summary?format=md").text
    assert "The rest of the review was skipped that day." in markdown
    s.close()

    # B's commitment wasn't answered: it is in the next session's review, and only it.
    s = Pair(app, couple, "understanding-our-trust")
    s.both_ready("welcome")
    assert [i["record"]["user_id"] for i in s.step("a", REVIEW)["review"]["items"]] == [b_id]
    s.close()


TALK_TRACK = Track(id="review-talk-test", title="Talk", summary="For tests.", version=1,
                   steps=(Step(id="welcome", kind="info", title="Hello", body="Welcome."),
                          Step(id="listen", kind="listening", title="Talking it through",
                               prompt="Take turns."),
                          Step(id="bye", kind="info", title="Bye", body="Until next time.")))


def test_lets_talk_about_this_becomes_a_topic_of_the_later_listening_step(app, couple):
    make_commitments(app, couple)
    restore = library_with(app, TALK_TRACK)
    try:
        a_id, b_id = couple.a.user["id"], couple.b.user["id"]
        s = Pair(app, couple, TALK_TRACK.id)
        assert s.step_ids() == ["welcome", REVIEW, "listen", "bye"]
        s.both_ready("welcome")
        review = s.step("b", REVIEW)["review"]
        assert review["talk_step"] == {"id": "listen", "title": "Talking it through"}
        items = {i["record"]["user_id"]: i["record"] for i in review["items"]}
        check(s, "a", items[a_id]["id"], "not_yet")
        check(s, "b", items[b_id]["id"], "kept")
        refused = s.act("b", "turn:submit", ok=False, step_id=REVIEW, client_id="rv-b-bad",
                        kind="ack", fields={"record_id": items[a_id]["id"], "ack": "shrug"})
        assert refused["error"]["code"] == "invalid"
        s.act("b", "turn:submit", step_id=REVIEW, client_id="rv-b-talk", kind="ack",
              fields={"record_id": items[a_id]["id"], "ack": "talk"})
        assert review_items(s, "a")[items[a_id]["id"]]["ack"]["ack"] == "talk"
        s.both_ready(REVIEW)
        expected = [{"item_id": items[a_id]["id"], "text": items[a_id]["text"],
                     "author_user_id": a_id, "review_step_id": REVIEW}]
        for who in ("a", "b"):
            assert s.step(who, "listen")["listening"]["topics"] == expected
        s.act("a", "turn:submit", step_id="listen", client_id="ls-a-0001", kind="speak_first")
        s.act("b", "turn:submit", step_id="listen", client_id="ls-b-0001", kind="ready")
        s.act("a", "turn:submit", step_id="listen", client_id="ls-a-0002", kind="share",
              body="It slipped every day.", fields={"topic_item_id": items[a_id]["id"]})
        s.close()
    finally:
        restore()


def test_a_gentle_track_never_opens_with_an_apologys_commitment(app, couple, apology_track):
    """small-steps-of-appreciation reviews everyday commitments only (its content's
    settings.review_sources); other tracks review an apology's too."""
    apology = make_apology_commitment(app, couple)
    s = Pair(app, couple, "small-steps-of-appreciation")
    assert REVIEW not in s.step_ids()
    s.close()
    s = Pair(app, couple, "understanding-our-trust")
    s.both_ready("welcome")
    assert list(review_items(s)) == [apology]
    s.close()


def test_a_gentle_track_reviews_only_everyday_commitments(app, couple, apology_track):
    apology = make_apology_commitment(app, couple)
    make_commitments(app, couple)
    s = Pair(app, couple, "small-steps-of-appreciation")
    assert s.step_ids()[:2] == ["welcome", REVIEW]
    s.both_ready("welcome")
    listed = review_items(s)
    assert len(listed) == 2 and apology not in listed
    assert {i["record"]["source"] for i in listed.values()} == {"commitment"}
    assert "APOLOGY-CHANGE" not in str(s.held["a"]["steps"])
    s.close()


def test_an_apologys_commitment_stays_in_the_review_for_three_check_ins(
        app, couple, apology_track):
    """content/review-step.yaml: check_ins.apology 3. A skip is no check-in."""
    apology = make_apology_commitment(app, couple)
    sessions = [("understanding-our-trust", "kept"), ("in-each-others-shoes", None),
                ("setting-boundaries-together", "partly"), ("apology-workshop", "kept")]
    for n, (track, status) in enumerate(sessions):
        s = Pair(app, couple, track)
        s.both_ready("welcome")
        item = review_items(s)[apology]
        assert item["record"]["text"].startswith("APOLOGY-CHANGE")
        earlier = [c["status"] for c in item["record"].get("checks") or []]
        assert earlier == [st for _, st in sessions[:n] if st], track
        if status is None:
            s.act("b", "turn:submit", step_id=REVIEW, client_id="rv-b-skip", kind="skip")
        else:
            check(s, "a", apology, status, n)
            s.both_ready(REVIEW)
        assert s.held["a"]["session"]["current_step_id"] != REVIEW
        s.close()
    # Three check-ins made: the next session opens as the track is written.
    s = Pair(app, couple, "repair-after-a-breach")
    assert REVIEW not in s.step_ids()
    s.close()


def test_a_couple_without_open_commitments_gets_no_review(app, couple):
    s = Pair(app, couple, "understanding-our-trust")
    assert s.step_ids()[0] == "welcome"
    assert REVIEW not in s.step_ids()
    s.close()


@pytest.mark.real_check
def test_the_review_waits_for_the_welcome_card_and_the_private_check(app, couple):
    """The review is joint work: the session's private check comes before it, as before
    any joint step, and the track's welcome card (privacy notice, Get help) is read first."""
    make_commitments(app, couple, answer_check=True)
    a_id = couple.a.user["id"]
    s = Pair(app, couple, "setting-boundaries-together")
    ids = s.step_ids()
    assert ids[:2] == ["welcome", REVIEW]
    assert all(s.step("a", i)["kind"] != "safety" for i in ids)
    assert s.held["a"]["check"]["open"] is True
    refused = s.act("a", "step:ready", ok=False, step_id="welcome")
    assert refused["error"]["code"] == "conflict"
    s.answer_check("a")
    s.answer_check("b")
    assert s.held["a"]["check"] == {"open": False}
    assert s.held["a"]["session"]["current_step_id"] == "welcome"
    s.both_ready("welcome")
    assert s.held["a"]["session"]["current_step_id"] == REVIEW
    items = {i["record"]["user_id"]: i["record"]["id"]
             for i in s.step("a", REVIEW)["review"]["items"]}
    check(s, "a", items[a_id], "kept")
    s.close()


def test_agreements_due_for_their_revisit_date_come_up_in_the_next_sessions_review(app, couple):
    """h2's agreements (services/agreements.py): one whose revisit date has come opens the
    next session's review; either partner keeps it (a new date, as on home), sets it aside,
    withdraws it or asks to talk about it (a listening topic); answering is optional, and
    one left as it is stays due. A gentle track (review_sources without "agreement") is not
    opened by them."""
    from server.models import CoupleRecord
    from tests.integration.test_agreements import COOK, LATE, TRACK, make_agreements

    restore = library_with(app, TRACK, TALK_TRACK)
    try:
        s, _ = make_agreements(app, couple)
        s.close()
        s = Pair(app, couple, "understanding-our-trust")
        assert REVIEW not in s.step_ids()  # nothing due yet
        s.close()
        # The revisit dates come (moved here instead of waiting ten days).
        database = app.extensions["mend"].database
        with database.session() as db:
            for record in db.query(CoupleRecord).filter_by(couple_id=couple.couple_id,
                                                           kind="agreement"):
                record.data = {**record.data, "revisit_on": "2000-01-01"}
            db.commit()
        s = Pair(app, couple, "small-steps-of-appreciation")
        assert REVIEW not in s.step_ids()  # a gentle track reviews commitments only
        s.close()
        s = Pair(app, couple, TALK_TRACK.id)
        assert s.step_ids()[:2] == ["welcome", REVIEW]
        s.both_ready("welcome")
        review = s.step("a", REVIEW)["review"]
        assert review["items"] == []
        due = {a["agreement"]["text"]: a["agreement"] for a in review["agreements"]}
        assert set(due) == {LATE, COOK}
        assert {a["status"] for a in due.values()} == {"due_for_review"}
        s.act("b", "turn:submit", step_id=REVIEW, client_id="rv-b-keep", kind="agreement",
              fields={"agreement_id": due[LATE]["id"], "move": "keep"})
        refused = s.act("a", "turn:submit", ok=False, step_id=REVIEW, client_id="rv-a-keep",
                        kind="agreement", fields={"agreement_id": due[LATE]["id"],
                                                  "move": "withdraw"})
        assert refused["error"]["code"] == "conflict"
        s.act("a", "turn:submit", step_id=REVIEW, client_id="rv-a-talk", kind="agreement",
              fields={"agreement_id": due[COOK]["id"], "move": "talk"})
        answered = {a["agreement"]["text"]: a for a in s.step("b", REVIEW)["review"]["agreements"]}
        assert answered[LATE]["answer"]["move"] == "keep"
        assert answered[LATE]["agreement"]["status"] == "active"
        assert answered[COOK]["answer"]["move"] == "talk"
        markdown = couple.a.client.get(f"/api/v1/sessions/{s.sid}/summary?format=md").text
        assert f"- Agreement “{COOK}” — to talk about" in markdown
        assert f"- Agreement “{LATE}” — kept going" in markdown
        s.both_ready(REVIEW)
        # "Let's talk about this" made it a topic of the listening step after the review
        for who in ("a", "b"):
            assert s.step(who, "listen")["listening"]["topics"] == [
                {"item_id": due[COOK]["id"], "text": COOK, "author_user_id": None,
                 "review_step_id": REVIEW}]
        s.close()
        # Home reads the same: kept with a new date (by B), the other still due.
        home = {a["text"]: a for a in couple.a.get(
            f"/couples/{couple.couple_id}/agreements").get_json()["agreements"]}
        assert home[LATE]["status"] == "active" and home[LATE]["revisit_on"] > "2000-01-01"
        assert home[LATE]["changed"]["by"] == couple.b.user["id"]
        assert home[COOK]["status"] == "due_for_review"
        # Still due: the next session's review raises it again, where the track fits.
        s = Pair(app, couple, "repair-after-a-breach")
        s.both_ready("welcome")
        assert [a["agreement"]["text"] for a in s.step("a", REVIEW)["review"]["agreements"]] \
            == [COOK]
        s.close()
    finally:
        restore()
