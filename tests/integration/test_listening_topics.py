"""Over real sockets: a boundary item marked "to talk about" and parked becomes the next
listening step's topic for both partners, and a share can name it."""

from __future__ import annotations

import pytest

from server.content import TrackLibrary
from server.engine.tracks import Step, Track
from tests.integration.test_opening_review import Pair

TRACK_ID = "talk-test"
TRACK = Track(id=TRACK_ID, title="Talk", summary="For tests.", version=1, steps=(
    Step(id="lists", kind="boundary", title="Needs and offers", prompt="List a few."),
    Step(id="listen", kind="listening", title="Talking one through", prompt="Take turns."),
    Step(id="bye", kind="info", title="Bye", body="Until next time."),
))


@pytest.fixture
def talk_track(app):
    ctx = app.extensions["mend"]
    original = ctx.library
    ctx.library = TrackLibrary({**original.tracks, TRACK_ID: TRACK})
    yield
    ctx.library = original


def test_a_parked_talk_item_is_the_listening_steps_topic(app, couple, talk_track):
    s = Pair(app, couple, TRACK_ID)
    a_id = couple.a.user["id"]
    s.act("a", "entry:submit", step_id="lists", client_id="bl-a-0001",
          fields={"items": [{"need": "TALK-ITEM a call when you're late"}, {"need": "quiet"}]})
    # before the reveal the other partner's topics (and everything else) hold no words
    assert "TALK-ITEM" not in str(s.held["b"])
    s.act("b", "entry:submit", step_id="lists", client_id="bl-b-0001",
          fields={"items": [{"offer": "cook on Fridays"}]})
    items = {i["text"]: i["id"] for i in s.step("b", "lists")["items"]}
    talk_id = items["I need TALK-ITEM a call when you're late"]
    s.act("b", "turn:submit", step_id="lists", client_id="mv-b-0001", kind="talk",
          fields={"item": talk_id})
    s.act("b", "turn:submit", step_id="lists", client_id="mv-b-0002", kind="park",
          fields={"item": talk_id})
    s.act("b", "turn:submit", step_id="lists", client_id="mv-b-0003", kind="agree",
          fields={"item": items["I need quiet"]})
    s.act("a", "turn:submit", step_id="lists", client_id="mv-a-0001", kind="park",
          fields={"item": items["I'll cook on Fridays"]})
    s.both_ready("lists")
    expected = [{"item_id": talk_id, "text": "I need TALK-ITEM a call when you're late",
                 "author_user_id": a_id, "boundary_step_id": "lists"}]
    for who in ("a", "b"):
        assert s.step(who, "listen")["listening"]["topics"] == expected
    s.act("a", "turn:submit", step_id="listen", client_id="ls-a-0001", kind="speak_first")
    s.act("b", "turn:submit", step_id="listen", client_id="ls-b-0001", kind="ready")
    refused = s.act("a", "turn:submit", ok=False, step_id="listen", client_id="ls-a-0002",
                    kind="share", body="I worry.", fields={"topic_item_id": "nope"})
    assert refused["error"]["code"] == "invalid"
    s.act("a", "turn:submit", step_id="listen", client_id="ls-a-0003", kind="share",
          body="I worry when I don't hear from you.", fields={"topic_item_id": talk_id})
    share = [t for t in s.step("b", "listen")["listening"]["turns"] if t["kind"] == "share"]
    assert share[0]["fields"] == {"topic_item_id": talk_id}
    s.close()
