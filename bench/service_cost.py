"""Service-level cost of the commonest events, without Socket.IO: a quick before/after probe.

Runs the real services on a real SQLite file (WAL, as `mend run` does) and times draft
saves (text edits: the bulk of human-pace traffic), a submit and a ready, per call.
Run it against any checkout: `PYTHONPATH=<checkout> python bench/service_cost.py`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--drafts", type=int, default=3000)
    args = parser.parse_args()

    from server.config import Config
    from server.content import load_library
    from server.db import Database, upgrade
    from server.services import accounts, couples, sessions

    data = Path(tempfile.mkdtemp())
    url = f"sqlite:///{data / 'mend.sqlite3'}"
    upgrade(url)
    library = load_library(Config.from_env({"MEND_DATA_DIR": str(data)}).content_dir)
    database = Database(url)
    with database.session() as db:
        a = accounts.sign_up(db, email="a@x.test", password="correct horse", display_name="A")
        b = accounts.sign_up(db, email="b@x.test", password="correct horse", display_name="B")
        code = couples.create_couple(db, a.id)["invite_code"]
        couple_id = couples.join_couple(db, b.id, code)["id"]
        session = sessions.start_session(db, library, a.id, couple_id, "understanding-our-trust")
        answers = {q["id"]: next(o["id"] for o in q["options"] if o.get("clear", True))
                   for q in library.check_step.settings["questions"]}
        for user in (a.id, b.id):  # the private check that opens every session
            sessions.submit_check(db, library, user, session["id"], f"bench-{user[:8]}",
                                  {"answers": answers})
        for user in (a.id, b.id):
            sessions.mark_ready(db, library, user, session["id"], "welcome")
    step = "what-trust-means"
    timings = []
    text = "I notice trust when "
    with database.session() as db:
        for i in range(args.drafts):
            started = time.perf_counter()
            sessions.save_draft(db, library, a.id, session["id"], step, text + "x" * (i % 500))
            timings.append((time.perf_counter() - started) * 1e6)
    timings.sort()

    def pct(p: float) -> float:
        return timings[min(len(timings) - 1, int(p * len(timings)))]

    print(f"draft save: n={len(timings)} mean {statistics.mean(timings):.0f} us, "
          f"p50 {pct(0.5):.0f} us, p99 {pct(0.99):.0f} us")
    with database.session() as db:
        started = time.perf_counter()
        sessions.submit_entry(db, library, a.id, session["id"], step, "client-a-0001", "words")
        sessions.submit_entry(db, library, b.id, session["id"], step, "client-b-0001", "words")
        print(f"two submits (one reveal): {(time.perf_counter() - started) * 1e3:.1f} ms")
    database.dispose()


if __name__ == "__main__":
    main()
