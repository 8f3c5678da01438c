"""No text is ever cut, in any kind: over real sockets and a real database, every registered
step kind refuses words one character over its limit with `too_large` (a message that names
the limit) and stores nothing of them, cut or whole; the same words at exactly the limit
are kept whole. The limit is the step content's own number, read back from the step's view
(what the browser counts against).

The test iterates the kind registry: a new kind fails here until it says how it takes words
(a case below) or that it takes none (WORDLESS).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from server.content import load_schema, load_track_file
from server.engine.kinds import REGISTRY
from tests.conftest import unique_marker

ROOT = Path(__file__).resolve().parents[2]
STEP = "words"


def words(label: str, length: int) -> str:
    """`length` characters starting with a marker that only this test writes."""
    marker = unique_marker(label)
    assert length > len(marker) + 1
    return marker + " " + "x" * (length - len(marker) - 1)


class Live:
    """Ana (a) and Ben (b) in a session of a one-step track, each on a socket."""

    def __init__(self, app, couple, track_id: str):
        self.app = app
        response = couple.a.post("/sessions", {"couple_id": couple.couple_id,
                                               "track_id": track_id})
        assert response.status_code == 201, response.get_json()
        self.session_id = response.get_json()["session"]["id"]
        self.people = {"a": couple.a, "b": couple.b}
        self.socks = {who: p.socket(app) for who, p in self.people.items()}
        for sock in self.socks.values():
            assert sock.emit("session:join", {"session_id": self.session_id}, callback=True)["ok"]
        self.count = 0

    def emit(self, who: str, event: str, **payload) -> dict:
        self.count += 1
        if event != "entry:draft":  # drafts replace one another: no client_id
            payload.setdefault("client_id", f"limits-{who}-{self.count:04d}")
        return self.socks[who].emit(event, {"session_id": self.session_id, "step_id": STEP,
                                            **payload}, callback=True)

    def ok(self, who: str, event: str, **payload) -> dict:
        ack = self.emit(who, event, **payload)
        assert ack["ok"], (event, payload, ack)
        return ack

    def turn(self, who: str, kind: str, body=None, fields=None) -> dict:
        return self.emit(who, "turn:submit", kind=kind, body=body, fields=fields)

    def step(self, who: str = "a") -> dict:
        state = self.people[who].get(f"/sessions/{self.session_id}").get_json()["state"]
        return next(s for s in state["steps"] if s["id"] == STEP)

    def stored(self) -> str:
        """Every value in every table of the database, as one text to search."""
        database = self.app.extensions["mend"].database
        dump = []
        with database.session() as db:
            for table in inspect(db.get_bind()).get_table_names():
                dump.append(repr(db.execute(text(f'SELECT * FROM "{table}"')).all()))
        return "\n".join(dump)

    def close(self) -> None:
        for sock in self.socks.values():
            if sock.is_connected():
                sock.disconnect()


# An attempt: (who, how) where how(live, text) sends `text` and returns the ack.
Attempt = tuple[str, Callable[[Live, str], dict]]


@dataclass
class Case:
    step_yaml: str  # the step's YAML, id `words`, with a limit of its own
    limit: Callable[[dict], int]  # the limit, read from the step's view
    attempts: list[Attempt]  # each sends words; the over-limit ones must be refused
    keep: Attempt  # sends words at exactly the limit: kept whole
    before: Callable[[Live], None] = lambda live: None  # moves to make first


def draft_body(live: Live, body: str) -> dict:
    return live.emit("a", "entry:draft", body=body)


def submit_body(live: Live, body: str) -> dict:
    return live.emit("a", "entry:submit", body=body)


def answered(kind: str, limit: int, extra: str = "") -> Case:
    return Case(
        f"""
  - id: words
    kind: {kind}
    title: A few words
    prompt: Say it in your own words.
    answer: {{type: text, max_length: {limit}}}{extra}
""",
        lambda step: step["answer"]["max_length"],
        [("a", draft_body), ("a", submit_body)],
        ("a", submit_body))


def apology_roles(live: Live) -> None:
    assert live.turn("a", "offer", fields={"role": "apologising"})["ok"]
    assert live.turn("b", "accept")["ok"]


def apology_to_mirror(live: Live) -> None:
    apology_roles(live)
    assert live.turn("b", "hurt", fields={"felt": "Left out"})["ok"]


def listening_to_share(live: Live) -> None:
    assert live.turn("b", "speak_first")["ok"]
    assert live.turn("a", "ready")["ok"]


CHECKIN_FIELDS = {"ratings": {"trust": 5, "closeness": 5, "mood": 5}, "support": "listening"}

CASES: dict[str, Case] = {
    "prompt": answered("prompt", 140),
    "appreciation": answered("appreciation", 150),
    "commitment": answered("commitment", 160, "\n    settings: {days: 7}"),
    "closing": Case(
        """
  - id: words
    kind: closing
    title: Before you finish
    prompt: What would you like to remember?
    answer:
      type: closing
      reflection: {max_length: 130}
      scale: {min: 1, max: 10}
""",
        lambda step: step["answer"]["reflection"]["max_length"],
        [("a", lambda live, t: live.emit("a", "entry:draft", body=t, fields={"value": 5})),
         ("a", lambda live, t: live.emit("a", "entry:submit", body=t, fields={"value": 5}))],
        ("a", lambda live, t: live.emit("a", "entry:submit", body=t, fields={"value": 5}))),
    "checkin": Case(
        """
  - id: words
    kind: checkin
    title: Where you are today
    prompt: How are you today?
    settings: {max_length: 120}
""",
        lambda step: step["answer"]["max_length"],
        [("a", lambda live, t: live.emit("a", "entry:draft", fields={"high": t})),
         ("a", lambda live, t: live.emit("a", "entry:submit",
                                         fields={**CHECKIN_FIELDS, "low": t}))],
        ("a", lambda live, t: live.emit("a", "entry:submit",
                                        fields={**CHECKIN_FIELDS, "high": t}))),
    "apology": Case(
        """
  - id: words
    kind: apology
    title: An apology
    prompt: About what happened on Friday.
    settings: {max_length: 170}
""",
        lambda step: step["apology"]["max_length"],
        [("b", lambda live, t: live.emit("b", "entry:draft", fields={"felt": "Hurt", "why": t})),
         ("b", lambda live, t: live.turn("b", "hurt", fields={"felt": t})),
         ("b", lambda live, t: live.turn("b", "hurt", fields={"felt": "Hurt", "need": t}))],
        ("b", lambda live, t: live.turn("b", "hurt", fields={"felt": t})),
        before=apology_roles),
    "listening": Case(
        """
  - id: words
    kind: listening
    title: Taking turns
    prompt: Speak about one moment that landed hard for you.
    settings: {first_speaker: either, max_chars: 180}
""",
        lambda step: step["listening"]["max_chars"],
        [("b", lambda live, t: live.emit("b", "entry:draft", body=t)),
         ("b", lambda live, t: live.turn("b", "share", body=t))],
        ("b", lambda live, t: live.turn("b", "share", body=t)),
        before=listening_to_share),
    "boundary": Case(
        """
  - id: words
    kind: boundary
    title: What helps me feel secure
    prompt: List what you need and what you'll offer.
    settings: {max_length: 110}
""",
        lambda step: step["settings"]["max_length"],
        [("a", lambda live, t: live.emit("a", "entry:draft",
                                         fields={"items": [{"need": t, "offer": ""}]})),
         ("a", lambda live, t: live.emit("a", "entry:submit",
                                         fields={"items": [{"need": "Calls", "offer": t}]}))],
        ("a", lambda live, t: live.emit("a", "entry:submit",
                                        fields={"items": [{"need": t, "offer": ""}]}))),
}

# Kinds in which nobody writes free text: an info card, and the private check (choices).
# Words sent to them anyway are refused and kept nowhere.
WORDLESS: dict[str, str] = {
    "info": """
  - id: words
    kind: info
    title: Before you begin
    body: A card to read.
""",
    "safety": """
  - id: words
    kind: safety
    title: A private check
    settings:
      questions:
        - id: carry_on
          text: Would you like to carry on together today?
          options:
            - {id: "yes", label: "Yes"}
            - {id: not_today, label: "Not today", clear: false, help: false}
""",
}


def load_one_step_track(app, tmp_path: Path, kind: str, step_yaml: str) -> str:
    """Put a track of one `kind` step (then a card) into the app's library; its id."""
    track_id = f"limits-{kind}"
    path = tmp_path / f"{track_id}.yaml"
    # A closing step must end its track; any other gets a card after it.
    card = "" if kind == "closing" else """
  - id: after
    kind: info
    title: Well done
    body: That is all for today.
"""
    path.write_text(f"""
id: {track_id}
title: Words and limits
summary: A test track with one {kind} step.
version: 1
steps:{step_yaml}{card}""")
    ctx = app.extensions["mend"]
    track = load_track_file(path, load_schema(ROOT / "content"),
                            session_check=ctx.library.check_step is not None)
    # The library as the app has it (the session's check stays), plus this track.
    ctx.library = replace(ctx.library, tracks={**ctx.library.tracks, track_id: track})
    return track_id


@pytest.fixture
def library_restored(app):
    ctx = app.extensions["mend"]
    original = ctx.library
    yield
    ctx.library = original


def test_every_kind_is_either_a_case_or_wordless():
    assert not set(CASES) & set(WORDLESS)
    missing = sorted(set(REGISTRY) - set(CASES) - set(WORDLESS))
    assert not missing, (f"step kind(s) {missing} take words in a way this test doesn't know: "
                         "add a Case (or list it in WORDLESS) so its limit is held to 'never cut'")


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_words_over_the_limit_are_refused_whole_and_stored_nowhere(
        app, couple, tmp_path, library_restored, kind):
    if kind in WORDLESS:
        live = Live(app, couple, load_one_step_track(app, tmp_path, kind, WORDLESS[kind]))
        try:
            long_text = words(f"{kind}-wordless", 30_000)
            for event, extra in (("entry:draft", {}), ("entry:submit", {}),
                                 ("turn:submit", {"kind": "share"})):
                ack = live.emit("a", event, body=long_text, **extra)
                assert not ack["ok"], (event, ack)
                assert "client_id" not in ack["error"]["message"], ack  # refused for its words
            assert long_text[:40] not in live.stored()
        finally:
            live.close()
        return
    assert kind in CASES, f"no over-limit case for the {kind!r} kind"
    case = CASES[kind]
    live = Live(app, couple, load_one_step_track(app, tmp_path, kind, case.step_yaml))
    try:
        case.before(live)
        limit = case.limit(live.step())
        # The view carries the content's own number (each case sets one below the default).
        assert str(limit) in case.step_yaml, (kind, limit)
        for index, (who, send) in enumerate(case.attempts):
            over = words(f"{kind}-over-{index}", limit + 1)
            ack = send(live, over)
            assert not ack["ok"], (kind, index, ack)
            assert ack["error"]["code"] == "too_large", (kind, index, ack)
            message = ack["error"]["message"]
            assert f"{limit:,}" in message, (kind, message)
            # Nothing of it stored: not cut, not whole (the marker opens the text).
            marker = over.split(" ", 1)[0]
            assert marker not in live.stored(), (kind, index)
            assert marker not in str(live.step(who)), (kind, index)
        # Exactly at the limit: accepted, and kept whole.
        who, send = case.keep
        fits = words(f"{kind}-fits", limit)
        ack = send(live, fits)
        assert ack["ok"], (kind, ack)
        assert fits in live.stored(), kind
        assert fits in str(live.step(who)), kind
    finally:
        live.close()
