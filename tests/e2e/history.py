"""A couple with a year of history, seeded straight into a fresh Mend database through the
real services (the engine's own rules decide every step), then moved back in time.

Used by the phone-layout browser tests: a home with ~50 past sessions, a check-in chart
spanning twelve months (with two check-ins on the same day), commitments reviewed from one
week to the next, one session that stopped early at the private check, and one under way.

Only the simple kinds are played here (prompts, scales, check-ins, commitments, closing):
the structured exercises have browser tests of their own, and their moves change more often.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import sessionmaker

from server.config import PROJECT_ROOT
from server.content import TrackLibrary, load_library
from server.db import make_engine, upgrade
from server.engine import check as check_rules
from server.models import Entry, Reveal, Session, StepAdvance, StepReady, Turn
from server.services import accounts, checkins, couples, moderation, sessions
from tests.checking import clear_answers

PASSWORD = "correct horse battery"
# Words long enough to wrap on a phone, and one unbroken run (a pasted link) that must not
# push the page sideways.
TEXTS = [
    "When plans change at the last minute I notice my chest tightening, and I'd like us to "
    "say so out loud instead of guessing.",
    "Short one this week.",
    "I saved the link we talked about: https://example.test/a-very-long-address-that-a-"
    "partner-pasted-without-any-spaces-in-it-at-all-so-it-cannot-wrap-on-its-own",
    "Dinner without phones on Sunday felt like the old us.",
]
LONG_LINK = "https://example.test/a-very-long-address"
WEEKLY = "weekly-check-in"
SCALE_TRACK, SCALE_STEP = "understanding-our-trust", "feeling-secure-now"
FRESH_TRACK = "small-steps-of-appreciation"
OTHER_TRACKS = ("understanding-our-trust", "small-steps-of-appreciation")


@dataclass
class History:
    """What was seeded: the two people (email, password, name, id) and what they have."""

    a: dict[str, str]
    b: dict[str, str]
    couple_id: str
    finished: list[str] = field(default_factory=list)
    stopped: str | None = None
    active: str | None = None
    fresh: str | None = None
    # A finished weekly check-in whose answers hold the long unbroken link (LONG_LINK).
    long_link: str | None = None
    counsellor: dict[str, str] = field(default_factory=dict)
    checkin_count: int = 0


def seed_year(data_dir: Path, suffix: str, *, now: datetime | None = None,
              weekly: int = 44, others: int = 6) -> History:
    """A fresh database in `data_dir` (migrated), a couple, and a year of sessions."""
    url = f"sqlite:///{data_dir / 'mend.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    library = load_library(PROJECT_ROOT / "content")
    db = sessionmaker(engine, expire_on_commit=False)()
    now = now or datetime.utcnow()
    try:
        a = accounts.sign_up(db, email=f"robin-{suffix}@example.test", password=PASSWORD,
                             display_name="Robin")
        b = accounts.sign_up(db, email=f"sam-{suffix}@example.test", password=PASSWORD,
                             display_name="Sam")
        code = couples.create_couple(db, a.id)["invite_code"]
        couple_id = couples.join_couple(db, b.id, code)["id"]
        history = History({"email": a.email, "name": "Robin", "id": a.id},
                          {"email": b.email, "name": "Sam", "id": b.id}, couple_id)
        # Both show their check-in numbers to each other (kept by default): a chart each.
        # (set_line gained the library while this was written: pass it when it is asked for.)
        takes_library = "library" in inspect.signature(checkins.set_line).parameters
        for uid in (a.id, b.id):
            if takes_library:
                checkins.set_line(db, library, uid, couple_id, True)
            else:
                checkins.set_line(db, uid, couple_id, True)
        player = _Player(db, library, a.id, b.id)
        # Oldest first, spread over the year; the last weekly one shares its day with the
        # one before it (morning and evening), so the chart has two points on one date.
        plan = [WEEKLY] * weekly + [OTHER_TRACKS[i % len(OTHER_TRACKS)] for i in range(others)]
        plan = _interleave(plan)
        start = now - timedelta(days=360)
        step_days = 350 / max(1, len(plan) - 1)
        when = [start + timedelta(days=round(i * step_days)) for i in range(len(plan))]
        last_weekly = max(i for i, t in enumerate(plan) if t == WEEKLY)
        prev_weekly = max(i for i, t in enumerate(plan[:last_weekly]) if t == WEEKLY)
        when[last_weekly] = when[prev_weekly].replace(hour=19, minute=30)
        when[prev_weekly] = when[prev_weekly].replace(hour=8, minute=15)
        for n, (track_id, at) in enumerate(zip(plan, when, strict=True)):
            session_id = player.play(track_id, n)
            _backdate(db, session_id, at)
            history.finished.append(session_id)
            history.checkin_count += track_id == WEEKLY
            if track_id == WEEKLY and n % len(TEXTS) != 3:  # TEXTS[2] in its high or closing
                history.long_link = session_id
        # A session that stopped early at its private check ("Not today"), a week ago.
        stopped = player.start("in-each-others-shoes", pass_check=False)
        sessions.stop_for_today(db, library, b.id, stopped)
        _backdate(db, stopped, now - timedelta(days=7))
        history.stopped = stopped
        # And one under way, open on its 1-10 scale.
        active = player.start(SCALE_TRACK)
        player.advance_to(active, SCALE_STEP)
        history.active = active
        # A counsellor both partners invited into the session under way.
        lee = accounts.sign_up(db, email=f"lee-{suffix}@example.test", password=PASSWORD,
                               display_name="Lee", role="counsellor")
        accounts.grant_counsellor(db, lee.email)
        invite = moderation.invite_counsellor(db, library, a.id, active).result["invite_code"]
        moderation.consent_to_counsellor(db, library, b.id, active)
        moderation.join_as_counsellor(db, library, lee.id, invite)
        history.counsellor = {"email": lee.email, "name": "Lee", "id": lee.id}
        # And one just started, its private check still open for both.
        history.fresh = player.start(FRESH_TRACK, pass_check=False)
        return history
    finally:
        db.close()
        engine.dispose()


def _interleave(plan: list[str]) -> list[str]:
    """Spread the other tracks evenly between the weekly check-ins."""
    weekly = [t for t in plan if t == WEEKLY]
    others = [t for t in plan if t != WEEKLY]
    if not others:
        return weekly
    gap = max(1, len(weekly) // (len(others) + 1))
    out: list[str] = []
    for i, t in enumerate(weekly):
        out.append(t)
        if others and (i + 1) % gap == 0:
            out.append(others.pop(0))
    return out + others


def _backdate(db, session_id: str, at: datetime) -> None:
    """Move a played session to `at` (its steps a minute apart, as people would)."""
    session = db.get(Session, session_id)
    began, ended = session.created_at, session.finished_at
    db.execute(update(Session).where(Session.id == session_id).values(
        created_at=at, finished_at=(at + timedelta(minutes=25)) if ended else None))
    for model, column in ((Entry, Entry.submitted_at), (Reveal, Reveal.revealed_at),
                          (StepAdvance, StepAdvance.at), (StepReady, StepReady.at),
                          (Turn, Turn.at)):
        rows = db.execute(
            model.__table__.select().where(model.__table__.c.session_id == session_id)).all()
        for row in rows:
            moment = getattr(row, column.key)
            key = {c.name: getattr(row, c.name) for c in model.__table__.primary_key.columns}
            new = at + min(moment - began, timedelta(minutes=24)) \
                if moment else at
            db.execute(update(model.__table__).where(
                *[model.__table__.c[k] == v for k, v in key.items()]).values({column.key: new}))
    db.commit()


class _Player:
    """Two partners playing a track to its end through the services."""

    def __init__(self, db, library: TrackLibrary, a: str, b: str):
        self.db = db
        self.library = library
        self.a = a
        self.b = b
        self.ids = count()

    def cid(self) -> str:
        return f"seed-{next(self.ids):08d}"

    def start(self, track_id: str, *, pass_check: bool = True) -> str:
        summary, _ = sessions.start_or_open_session(
            self.db, self.library, self.a, self._couple_id(), track_id)
        session_id = summary["id"]
        state = sessions.load_state(self.db, self.library, session_id)
        self.db.rollback()
        if pass_check and check_rules.is_open(state):
            answers = {"answers": clear_answers(self.library.check_step)}
            for uid in (self.a, self.b):
                if check_rules.is_open(sessions.load_state(self.db, self.library, session_id)):
                    sessions.submit_check(self.db, self.library, uid, session_id, self.cid(),
                                          answers)
        return session_id

    def _couple_id(self) -> str:
        return couples.couples_of(self.db, self.a)[0].id

    def play(self, track_id: str, n: int) -> str:
        session_id = self.start(track_id)
        self.advance_to(session_id, None, n)
        return session_id

    def advance_to(self, session_id: str, stop_at: str | None, n: int = 0) -> None:
        """Answer and move on until the session finishes (or opens step `stop_at`)."""
        while True:
            state = sessions.load_state(self.db, self.library, session_id)
            self.db.rollback()
            step = state.current_step
            if step is None or state.status != "active" or step.id == stop_at:
                return
            if step.kind == "commitment" and (step.settings or {}).get("mode") == "review":
                self.review(state, step)
            elif step.takes_answer:
                for k, uid in enumerate((self.a, self.b)):
                    self.answer(session_id, uid, step, n + k)
            for uid in (self.a, self.b):
                sessions.mark_ready(self.db, self.library, uid, session_id, step.id)

    def answer(self, session_id: str, uid: str, step, n: int) -> None:
        fields: Any = None
        body: Any = None
        if step.kind == "checkin":
            s = step.settings or {}
            low, high = s.get("min", 1), s.get("max", 10)
            # A slow climb over the year with some ups and downs; the lines cross often.
            trend = 3 + (5 * n) // 50
            ratings = {r["id"]: max(low, min(high, trend + (0, 1, -1, 1, 0, -1)[(n + i) % 6]
                                             + i - 1))
                       for i, r in enumerate(s.get("ratings") or [{"id": "trust"},
                                                                  {"id": "closeness"},
                                                                  {"id": "mood"}])}
            support = (s.get("support") or [{"id": "listening"}])[0]["id"]
            fields = {"ratings": ratings, "high": TEXTS[n % len(TEXTS)], "low": "",
                      "support": support}
        elif step.kind in ("commitment", "appreciation"):
            body = "I'll put my phone away at dinner and ask about your day first."
        else:
            spec = step.answer or {}
            kind = spec.get("type")
            if kind == "text":
                body = TEXTS[n % len(TEXTS)]
            elif kind == "scale":
                fields = {"value": spec["min"] + n % (spec["max"] - spec["min"] + 1)}
            elif kind == "choices":
                fields = {"choices": [spec["options"][0]]}
            elif kind == "closing":
                body = TEXTS[(n + 1) % len(TEXTS)]
                fields = {"value": spec["scale"]["min"] + n % 10}
            else:
                raise AssertionError(f"the seed has no answer for {step.kind}/{kind}")
        sessions.submit_entry(self.db, self.library, uid, session_id, step.id, self.cid(),
                              body, fields)

    def review(self, state, step) -> None:
        """Each owner says how their open commitment went; the partner acknowledges it."""
        for record in [r for r in state.records.values()
                       if r.kind == "commitment" and r.status == "open"]:
            other = self.b if record.user_id == self.a else self.a
            sessions.submit_turn(self.db, self.library, record.user_id, state.id, step.id,
                                 self.cid(), "check",
                                 fields={"record_id": record.id, "status": "partly"})
            sessions.submit_turn(self.db, self.library, other, state.id, step.id, self.cid(),
                                 "ack", fields={"record_id": record.id, "ack": "thanks"})
