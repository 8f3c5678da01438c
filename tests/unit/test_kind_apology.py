"""The `apology` kind on plain data: every rule, the hints' rules file, and a privacy
property over random action sequences (no server, no clock)."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from server.content import ContentError, load_library
from server.content.rules import load_hints, phrase_matches
from server.engine import MendError
from server.engine import session as engine
from server.engine.tracks import Step, Track
from server.engine.visibility import summary_for, view_for
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 27, 9, 0, 0)
A, B, C = "user-a", "user-b", "user-c"

TRACK = Track(
    id="sorry", title="Sorry", summary="For tests.", version=1,
    steps=(
        Step(id="apology", kind="apology", title="An apology", prompt="About Friday.",
             settings={"max_length": 200, "commitment_days": 5}),
        Step(id="after", kind="info", title="After", body="Well done."),
    ),
)

FULL = {"act": "I read your messages", "impact": "You felt watched",
        "responsibility": "It was my choice", "regret": "I regret it",
        "change": "I will ask instead of checking", "setup": "I was scared"}


def start(counsellor: bool = False) -> engine.SessionState:
    people = (engine.Participant(A, "Ana", "partner"), engine.Participant(B, "Ben", "partner"))
    if counsellor:
        people += (engine.Participant(C, "Cleo", "counsellor"),)
    return engine.SessionState(id="s1", track=TRACK, participants=people, created_at=T0)


class Run:
    """A session driven through the engine, one action at a time."""

    def __init__(self, state: engine.SessionState | None = None):
        self.state = state or start()
        self.n = 0
        self.effects: list = []

    def do(self, action) -> engine.Transition:
        self.n += 1
        transition = engine.handle(self.state, action, T0 + timedelta(seconds=self.n))
        self.state = transition.state
        self.effects += transition.effects
        return transition

    def turn(self, user, name, body=None, fields=None, step="apology"):
        return self.do(engine.SubmitTurn(user, step, f"t{self.n}", f"client-{self.n:04}", name,
                                         body, fields))

    def draft(self, user, fields, step="apology"):
        return self.do(engine.SaveDraft(user, step, None, fields))

    def code(self, fn, *args, **kwargs) -> str:
        with pytest.raises(MendError) as error:
            fn(*args, **kwargs)
        return error.value.code

    def view(self, user) -> dict:
        return next(s for s in view_for(self.state, user)["steps"] if s["id"] == "apology")

    def ap(self, user) -> dict:
        return self.view(user)["apology"]


def agreed(apologiser=A) -> Run:
    run = Run()
    hurt = B if apologiser == A else A
    run.turn(apologiser, "offer", fields={"role": "apologising"})
    run.turn(hurt, "accept")
    return run


def to_phase(phase: str) -> Run:
    """A is apologising, B was hurt; the step has reached `phase`."""
    run = agreed()
    steps = [("hurt", B, None, {"felt": "alone", "why": "it felt like spying",
                                "need": "to be asked"}),
             ("mirror", A, "You felt alone and spied on", None),
             ("apology", A, None, FULL),
             ("reflect", B, "I heard you own it", None)]
    for name, user, body, fields in steps:
        if run.ap(A)["phase"] == phase:
            break
        run.turn(user, name, body, fields)
    assert run.ap(A)["phase"] == phase
    return run


# --- roles -------------------------------------------------------------------------------


def test_roles_are_agreed_by_an_offer_and_its_acceptance():
    run = Run()
    assert run.ap(A)["phase"] == "roles" and run.ap(A)["roles"] is None
    run.turn(A, "offer", fields={"role": "apologising"})
    assert run.ap(B)["offer"]["by"] == A and run.ap(B)["offer"]["role"] == "apologising"
    assert run.code(run.turn, A, "accept") == "not_your_turn"  # not your own offer
    assert run.code(run.turn, B, "offer", fields={"role": "hurt"}) == "conflict"  # one at once
    run.turn(B, "accept")
    assert run.ap(A)["roles"] == {"apologising": A, "hurt": B}
    assert run.ap(A)["my_role"] == "apologising" and run.ap(B)["my_role"] == "hurt"
    assert run.ap(A)["phase"] == "hurt" and run.ap(A)["offer"] is None
    assert run.code(run.turn, A, "offer", fields={"role": "hurt"}) == "conflict"


def test_the_hurt_partner_may_make_the_offer_and_an_offer_can_be_withdrawn():
    run = Run()
    run.turn(B, "offer", fields={"role": "hurt"})
    assert run.code(run.turn, A, "withdraw") == "forbidden"
    run.turn(B, "withdraw")
    assert run.ap(A)["offer"] is None
    assert run.code(run.turn, A, "accept") == "conflict"  # nothing to accept
    assert run.code(run.turn, A, "withdraw") == "conflict"
    run.turn(B, "offer", fields={"role": "hurt"})
    run.turn(A, "accept")
    assert run.ap(B)["roles"] == {"hurt": B, "apologising": A}


def test_an_offer_may_be_answered_not_now_and_then_both_may_move_on():
    run = Run()
    assert run.code(run.do, engine.MarkReady(A, "apology")) == "conflict"
    run.turn(A, "offer", fields={"role": "apologising"})
    assert run.code(run.turn, A, "decline") == "not_your_turn"
    run.turn(B, "decline")
    for user in (A, B):
        assert run.ap(user)["declined"]["by"] == B and run.ap(user)["offer"] is None
        assert run.ap(user)["roles"] is None
    assert run.code(run.turn, B, "decline") == "conflict"  # nothing left to answer
    run.do(engine.MarkReady(A, "apology"))
    run.do(engine.MarkReady(B, "apology"))
    assert run.state.current_step.id == "after"
    assert summary_for(run.state, A)["steps"] == []


def test_a_new_offer_after_not_now_clears_it_and_the_step_waits_again():
    run = Run()
    run.turn(A, "offer", fields={"role": "apologising"})
    run.turn(B, "decline")
    run.turn(B, "offer", fields={"role": "hurt"})
    assert run.ap(A)["declined"] is None
    assert run.code(run.do, engine.MarkReady(A, "apology")) == "conflict"


@pytest.mark.parametrize("fields", [None, {}, {"role": "judge"}, {"role": "hurt", "x": 1}])
def test_an_offer_names_one_of_the_two_roles(fields):
    run = Run()
    assert run.code(run.turn, A, "offer", fields=fields) == "invalid"


def test_nothing_can_be_written_before_the_roles_are_agreed():
    run = Run()
    assert run.code(run.draft, A, {"act": "x"}) == "conflict"
    assert run.code(run.turn, B, "hurt", fields={"felt": "x"}) == "conflict"
    assert run.code(run.turn, A, "dance") == "invalid"


def test_a_counsellor_cannot_take_part():
    run = Run(start(counsellor=True))
    assert run.code(run.turn, C, "offer", fields={"role": "apologising"}) == "forbidden"


# --- the flow ----------------------------------------------------------------------------


def test_the_hurt_partner_speaks_first_and_both_see_it():
    run = agreed()
    assert run.code(run.turn, A, "hurt", fields={"felt": "x"}) == "not_your_turn"
    assert run.code(run.turn, A, "mirror", "x") == "conflict"  # not open yet
    assert run.code(run.turn, B, "hurt", fields={"why": "no feeling named"}) == "invalid"
    assert run.code(run.turn, B, "hurt", fields={"felt": "ok", "rant": "x"}) == "invalid"
    run.turn(B, "hurt", fields={"felt": "alone", "why": "   "})
    for user in (A, B):
        assert run.ap(user)["hurt"]["felt"] == "alone" and "why" not in run.ap(user)["hurt"]
        assert run.ap(user)["phase"] == "mirror"


def test_the_apologising_partner_mirrors_before_writing_the_apology():
    run = to_phase("mirror")
    assert run.code(run.turn, B, "mirror", "x") == "not_your_turn"
    assert run.code(run.turn, A, "apology", fields=FULL) == "conflict"
    assert run.code(run.turn, A, "mirror", "  ") == "invalid"
    run.turn(A, "mirror", "You felt alone")
    assert run.ap(B)["mirror"]["body"] == "You felt alone" and run.ap(B)["phase"] == "apology"


@pytest.mark.parametrize("missing", ["act", "impact", "responsibility", "regret", "change"])
def test_every_part_but_what_set_me_up_is_needed(missing):
    run = to_phase("apology")
    fields = {k: v for k, v in FULL.items() if k != missing}
    assert run.code(run.turn, A, "apology", fields=fields) == "invalid"
    no_setup = {k: v for k, v in FULL.items() if k != "setup"}
    run.turn(A, "apology", fields=no_setup)
    assert "setup" not in run.ap(B)["apology"]


def test_the_engine_refuses_no_phrase_hints_are_advisory():
    run = to_phase("apology")
    fields = {**FULL, "responsibility": "I'm sorry you feel that way, but you always do this"}
    run.turn(A, "apology", fields=fields)
    assert run.ap(B)["apology"]["responsibility"] == fields["responsibility"]


def test_parts_are_capped_at_the_step_s_max_length():
    run = to_phase("apology")
    assert run.code(run.turn, A, "apology", fields={**FULL, "act": "x" * 201}) == "too_large"
    assert run.code(run.draft, A, {"act": "x" * 201}) == "too_large"
    assert run.code(run.turn, A, "apology", fields={**FULL, "act": 7}) == "invalid"


def test_the_apology_is_revealed_to_the_hurt_partner_only_when_sent():
    run = to_phase("apology")
    run.draft(A, {"act": "DRAFT-WORDS", "regret": "more"})
    assert run.ap(B)["apology"] is None and run.ap(B)["apology_sent"] is False
    assert run.view(B)["partner_status"] == "writing"
    assert "DRAFT-WORDS" not in json.dumps(view_for(run.state, B))
    assert run.view(A)["mine"]["draft"]["fields"]["act"] == "DRAFT-WORDS"
    run.turn(A, "apology", fields=FULL)
    assert run.ap(B)["apology"]["act"] == FULL["act"] and run.ap(B)["apology_sent"] is True
    assert run.ap(A)["apology"]["act"] == FULL["act"]
    # The sent words leave the author's draft.
    assert run.view(A)["mine"]["draft"]["fields"] is None
    assert run.view(B)["partner_status"] == "not_started"


def test_what_will_change_becomes_a_commitment_owned_by_the_apologising_partner():
    run = to_phase("apology")
    run.turn(A, "apology", fields=FULL)
    saved = [e.record for e in run.effects if isinstance(e, engine.RecordSaved)]
    assert len(saved) == 1
    record = saved[0]
    assert (record.kind, record.status, record.user_id, record.private_to) == (
        "commitment", "open", A, None)
    assert dict(record.data) == {"text": FULL["change"], "source": "apology",
                                 "due_on": (T0 + timedelta(days=5)).date().isoformat()}
    for user in (A, B):
        commitments = view_for(run.state, user)["commitments"]
        assert [c["text"] for c in commitments] == [FULL["change"]]
        assert commitments[0]["source"] == "apology" and commitments[0]["step_id"] == "apology"


def test_the_hurt_partner_reflects_then_chooses_freely():
    run = to_phase("reflect")
    assert run.code(run.turn, A, "reflect", "x") == "not_your_turn"
    assert run.code(run.turn, B, "response", fields={"choice": "accept"}) == "conflict"
    run.turn(B, "reflect", "You said you chose it")
    assert run.ap(A)["reflect"]["body"] == "You said you chose it"
    assert run.code(run.turn, B, "response", fields={"choice": "forgive-or-else"}) == "invalid"
    assert run.code(run.turn, B, "response", fields={"choice": "more_of"}) == "invalid"
    assert run.code(run.turn, B, "response",
                    fields={"choice": "accept", "more": "x"}) == "invalid"


@pytest.mark.parametrize("fields", [{"choice": "accept"}, {"choice": "more_time"},
                                    {"choice": "more_of", "more": "showing me, over time"}])
def test_every_answer_is_a_full_answer_and_completes_the_step(fields):
    run = to_phase("respond")
    assert run.code(run.do, engine.MarkReady(A, "apology")) == "conflict"
    run.turn(B, "response", fields=fields)
    for user in (A, B):
        response = run.ap(user)["response"]
        assert {k: response[k] for k in fields} == fields and response["by"] == B
        assert run.ap(user)["phase"] == "done"
    assert run.code(run.turn, B, "response", fields={"choice": "accept"}) == "conflict"
    assert run.code(run.draft, A, {"act": "x"}) == "conflict"
    run.do(engine.MarkReady(A, "apology"))
    run.do(engine.MarkReady(B, "apology"))
    assert run.state.current_step.id == "after"
    assert run.view(A)["status"] == "done" and run.ap(A)["response"]["choice"] == fields["choice"]


def test_the_step_cannot_be_left_before_the_answer():
    run = to_phase("hurt")
    assert run.code(run.do, engine.MarkReady(B, "apology")) == "conflict"


def test_drafts_hold_only_the_author_s_parts_not_yet_sent():
    run = agreed()
    assert run.code(run.draft, B, {"act": "not yours"}) == "invalid"
    assert run.code(run.draft, A, {"felt": "not yours"}) == "invalid"
    assert run.code(run.do, engine.SaveDraft(A, "apology", "loose body", None)) == "invalid"
    assert run.code(run.draft, A, ["a list"]) == "invalid"
    run.draft(B, {"felt": "hurt", "reflect": "later"})
    run.turn(B, "hurt", fields={"felt": "hurt"})
    assert dict(run.state.drafts[("apology", B)].fields) == {"reflect": "later"}
    assert run.code(run.draft, B, {"felt": "again"}) == "conflict"


def test_editing_a_draft_with_words_is_invisible_starting_one_is_pushed():
    run = agreed()
    assert run.draft(B, {"felt": "a"}).visible
    assert not run.draft(B, {"felt": "ab"}).visible
    assert run.draft(B, {}).visible  # cleared: the partner's status changes back


def test_during_a_break_drafts_save_and_turns_are_paused():
    run = to_phase("apology")
    run.state = replace(run.state, paused_until=T0 + timedelta(hours=1))
    run.draft(A, {"act": "still writing"})
    assert run.code(run.turn, A, "apology", fields=FULL) == "paused"


# --- who sees what ----------------------------------------------------------------------


def test_a_counsellor_sees_the_shared_moves_but_never_the_apology_parts():
    run = Run(start(counsellor=True))
    run.turn(A, "offer", fields={"role": "apologising"})
    run.turn(B, "accept")
    run.turn(B, "hurt", fields={"felt": "alone"})
    run.turn(A, "mirror", "You felt alone")
    run.turn(A, "apology", fields=FULL)
    counsellor = run.ap(C)
    assert counsellor["hurt"]["felt"] == "alone" and counsellor["apology_sent"] is True
    assert counsellor["apology"] is None
    assert FULL["act"] not in json.dumps(view_for(run.state, C))
    assert FULL["act"] not in json.dumps(summary_for(run.state, C))


def test_summary_shows_the_outcome_to_each_partner():
    run = to_phase("respond")
    run.turn(B, "response", fields={"choice": "more_time"})
    for user in (A, B):
        part = next(s for s in summary_for(run.state, user)["steps"] if s["id"] == "apology")
        assert part["kind"] == "apology" and part["answers"] == []
        assert part["apology"]["response"]["choice"] == "more_time"
        assert part["apology"]["apology"]["change"] == FULL["change"]
    assert summary_for(Run().state, A)["steps"] == []  # nothing agreed: nothing to keep


# --- privacy, over random sequences ------------------------------------------------------

MARK = "MARKER"
MOVES = st.sampled_from([
    ("offer", A, None, {"role": "apologising"}), ("offer", B, None, {"role": "hurt"}),
    ("offer", A, None, {"role": "hurt"}), ("withdraw", A, None, None),
    ("decline", A, None, None), ("decline", B, None, None),
    ("withdraw", B, None, None), ("accept", A, None, None), ("accept", B, None, None),
    ("hurt", A, None, {"felt": "f"}), ("hurt", B, None, {"felt": "f"}),
    ("mirror", A, "m", None), ("mirror", B, "m", None),
    ("apology", A, None, "PARTS"), ("apology", B, None, "PARTS"),
    ("reflect", A, "r", None), ("reflect", B, "r", None),
    ("response", A, None, {"choice": "more_time"}), ("response", B, None, {"choice": "accept"}),
    ("draft", A, None, "DRAFT"), ("draft", B, None, "DRAFT"),
    ("draft-hurt", A, None, None), ("draft-hurt", B, None, None),
    ("ready", A, None, None), ("ready", B, None, None),
    # The next move of the flow, made by whoever it belongs to: without these a random walk
    # would rarely get as far as the reveal.
    ("next", A, None, None), ("next", B, None, None), ("next", A, None, None),
    ("next", B, None, None),
])
NEXT = {"hurt": ("hurt", "hurt", None, {"felt": "f"}), "mirror": ("apologising", "mirror", "m",
                                                                   None),
        "apology": ("apologising", "apology", None, "PARTS"),
        "reflect": ("hurt", "reflect", "r", None),
        "respond": ("hurt", "response", None, {"choice": "more_of", "more": "care"})}


def _next_move(run: Run, user: str) -> tuple:
    data = run.state.step_state("apology")
    phase = data.get("phase", "roles")
    if phase == "roles":
        offer = data.get("offer")
        if offer is None:
            return ("offer", user, None, {"role": "apologising"})
        return ("accept", B if offer["by"] == A else A, None, None)
    if phase == "done":
        return ("ready", user, None, None)
    role, name, body, fields = NEXT[phase]
    return (name, data["roles"][role], body, fields)


def _parts(user: str, n: int) -> dict:
    # "What will change" becomes a shared commitment once sent: marked apart.
    return {k: f"{MARK}-{'change' if k == 'change' else 'part'}-{user}-{n}-{k}" for k in FULL}


@settings(max_examples=150, deadline=None)
@given(st.lists(MOVES, max_size=16))
def test_apology_parts_never_reach_anyone_but_their_reader_before_the_reveal(sequence):
    run = Run(start(counsellor=True))
    for i, move in enumerate(sequence):
        name, user, body, fields = _next_move(run, move[1]) if move[0] == "next" else move
        try:
            if name == "draft":
                run.draft(user, {k: f"{MARK}-draft-{user}-{i}-{k}"
                                 for k in ("mirror", "act", "change", "setup")})
            elif name == "draft-hurt":
                run.draft(user, {"felt": f"{MARK}-draft-{user}-{i}-felt",
                                 "reflect": f"{MARK}-draft-{user}-{i}-reflect"})
            elif name == "ready":
                run.do(engine.MarkReady(user, "apology"))
            else:
                run.turn(user, name, body, _parts(user, i) if fields == "PARTS" else fields)
        except MendError:
            pass
        roles = run.state.step_state("apology").get("roles") or {}
        sent = any(t.name == "apology" for t in run.state.turns)
        for viewer in (A, B, C):
            seen = json.dumps(view_for(run.state, viewer)) + json.dumps(
                summary_for(run.state, viewer))
            # Drafts: their author's only, whatever happens.
            for other in {A, B} - {viewer}:
                assert f"{MARK}-draft-{other}" not in seen
            # The parts: their author, and the hurt partner once sent; nobody else ever.
            for author in (A, B):
                if author == viewer:
                    continue
                may = sent and viewer == roles.get("hurt") and author == roles.get("apologising")
                if not may:
                    assert f"{MARK}-part-{author}" not in seen
                if not sent:
                    assert f"{MARK}-change-{author}" not in seen


# --- the hints' rules file ----------------------------------------------------------------


def test_the_shipped_hints_load_and_their_examples_hold():
    hints = load_hints(ROOT / "content" / "rules" / "apology-hints.yaml")
    assert {"but", "conditional", "sorry-you-feel", "you-always"} <= {h["id"] for h in hints}
    assert all(h["message"] and h["phrases"] for h in hints)


@pytest.mark.parametrize(("phrase", "text", "hit"), [
    ("but", "I'm sorry, but", True), ("but", "BUT no", True), ("but", "butter", False),
    ("but", "rebut", False), ("if you", "sorry if   you", True), ("if you", "if your", False),
    ("sorry you feel", "I\u2019m sorry you feel", True), ("you're upset", "you\u2019re upset",
                                                          True),
    ("but", "", False), ("don't", "dont", False),
])
def test_phrases_match_whole_words_in_order(phrase, text, hit):
    assert phrase_matches(phrase, text) is hit


def _content_with(tmp_path: Path, hints_text: str | None) -> Path:
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content" / "schema", content / "schema")
    (content / "tracks").mkdir()
    (content / "tracks" / "sorry.yaml").write_text(yaml.safe_dump({
        "id": "sorry", "title": "Sorry", "summary": "For tests.", "version": 1,
        "steps": [{"id": "check", "kind": "safety", "title": "A private check",
                   "settings": {"questions": [{"id": "carry_on", "text": "Carry on today?",
                                               "options": [{"id": "yes", "label": "Yes"},
                                                           {"id": "no", "label": "No",
                                                            "clear": False}]}]}},
                  {"id": "apology", "kind": "apology", "title": "An apology",
                   "prompt": "About Friday.", "settings": {"max_length": 500}}]}))
    if hints_text is not None:
        (content / "rules").mkdir()
        (content / "rules" / "apology-hints.yaml").write_text(hints_text)
    return content


def test_the_loader_puts_the_hints_into_every_apology_step(tmp_path):
    shipped = (ROOT / "content" / "rules" / "apology-hints.yaml").read_text()
    library = load_library(_content_with(tmp_path, shipped))
    step = library.get("sorry").steps[1]
    assert step.settings["max_length"] == 500
    assert [h["id"] for h in step.public_dict()["settings"]["hints"]] == [
        h["id"] for h in yaml.safe_load(shipped)["hints"]]


@pytest.mark.parametrize(("text", "complaint"), [
    (None, "missing"),
    ("hints: [", "not valid YAML"),
    ("hints: []", "hints"),
    ("hints: [{id: a, phrases: [but], message: m, parts: [elsewhere]}]", "parts"),
    ("hints: [{id: a, phrases: [but], message: m}, {id: a, phrases: [if], message: m}]",
     "twice"),
    ("hints: [{id: a, phrases: [but], message: m, examples: {flags: [and then]}}]",
     "should be flagged"),
    ("hints: [{id: a, phrases: [but], message: m, examples: {passes: [but why]}}]",
     "should pass"),
])
def test_a_bad_rules_file_is_refused_with_the_file_named(tmp_path, text, complaint):
    with pytest.raises(ContentError) as error:
        load_library(_content_with(tmp_path, text))
    assert "apology-hints.yaml" in str(error.value) and complaint in str(error.value)


def test_the_browser_matches_exactly_like_the_loader():
    """client/js/kinds/apology-hints.js, run by Node over every example and phrase."""
    node = shutil.which("node")
    require(node is not None, "node is not installed")
    rules = yaml.safe_load((ROOT / "content" / "rules" / "apology-hints.yaml").read_text())
    texts = [t for r in rules["hints"] for k in ("flags", "passes")
             for t in r.get("examples", {}).get(k, [])]
    texts += ["butter", "I\u2019M SORRY  YOU FEEL", "if your", "", "you   always", "x-but-y"]
    phrases = sorted({p for r in rules["hints"] for p in r["phrases"]} | {"don't", "if you"})
    script = (
        "import { phraseMatches } from './client/js/kinds/apology-hints.js';\n"
        "const [phrases, texts] = JSON.parse(process.argv[1]);\n"
        "console.log(JSON.stringify(texts.map((t) => phrases.map((p) => phraseMatches(p, t)))));"
    )
    out = subprocess.run([node, "--input-type=module", "-e", script,
                          json.dumps([phrases, texts])],
                         cwd=ROOT, capture_output=True, text=True, check=True, timeout=30)
    browser = json.loads(out.stdout)
    server = [[phrase_matches(p, t) for p in phrases] for t in texts]
    assert browser == server
    assert any(any(row) for row in server) and not all(all(row) for row in server)
