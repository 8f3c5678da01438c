"""The fair share's budgets (server.realtime.limits.Budgets) on a clock the test drives:
a user's budget survives reconnects, a flooder's cool-down grows, addresses pay for frames
from connections with no logged-in socket."""

from __future__ import annotations

import pytest

from server.engine import MendError
from server.realtime.limits import ADMIT, CLOSE, MAX_COOLDOWN, STRIKE_MEMORY, Budgets


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def budgets(clock: Clock, **changes) -> Budgets:
    settings = {"event_rate": 20.0, "event_burst": 60, "user_event_rate": 40.0,
                "refusals_before_disconnect": 200, "max_sockets_per_user": 20, **changes}
    return Budgets(clock=clock, **settings)


def spend(found: Budgets, sid: str, events: int) -> list[str]:
    return [found.admit(sid) for _ in range(events)]


def flood_until_closed(found: Budgets, sid: str) -> int:
    """Send into the budget until the socket is closed; returns how many were admitted."""
    admitted = 0
    for _ in range(10_000):
        verdict = found.admit(sid)
        if verdict == ADMIT:
            admitted += 1
        elif verdict == CLOSE:
            return admitted
    raise AssertionError("never closed")


def test_a_new_socket_starts_from_what_the_users_last_one_left(clock):
    found = budgets(clock)
    found.connect("s1", "ana")
    assert spend(found, "s1", 60).count(ADMIT) == 60
    found.forget("s1")
    found.connect("s2", "ana")  # straight back in: no fresh burst
    assert found.admit("s2") != ADMIT
    clock.now += 1.0  # one second refills event_rate tokens, no more
    assert spend(found, "s2", 30).count(ADMIT) == 20


def test_someone_elses_budget_is_their_own(clock):
    found = budgets(clock)
    found.connect("s1", "ana")
    spend(found, "s1", 60)
    found.connect("s2", "ben")
    assert spend(found, "s2", 60).count(ADMIT) == 60


def test_a_flooder_gets_nothing_back_while_cooling_down_and_each_cool_down_is_longer(clock):
    found = budgets(clock)
    base = 60 / 20.0
    found.connect("s1", "eve")
    assert flood_until_closed(found, "s1") == 60
    found.forget("s1")
    pauses = []
    for n in range(2, 6):
        started = clock.now
        with pytest.raises(MendError) as refused:
            found.connect(f"s{n}", "eve")
        assert refused.value.code == "rate_limited"
        while True:  # the first moment a handshake is accepted again
            clock.now += 0.25
            try:
                found.connect(f"s{n}", "eve")
                break
            except MendError:
                continue
        pauses.append(clock.now - started)
        # Nothing refilled during the cool-down: the socket starts empty.
        assert found.admit(f"s{n}") != ADMIT
        assert flood_until_closed(found, f"s{n}") == 0
        found.forget(f"s{n}")
    assert pauses[0] == pytest.approx(base, abs=0.3)
    for earlier, later in zip(pauses, pauses[1:], strict=False):
        assert later == pytest.approx(2 * earlier, abs=0.3)


def test_cool_downs_stop_growing_and_old_strikes_are_forgotten(clock):
    found = budgets(clock)
    for n in range(12):
        clock.now += MAX_COOLDOWN + 1
        found.connect(f"s{n}", "eve")
        flood_until_closed(found, f"s{n}")
        found.forget(f"s{n}")
    clock.now += MAX_COOLDOWN - 1
    with pytest.raises(MendError):
        found.connect("late", "eve")
    clock.now += STRIKE_MEMORY + MAX_COOLDOWN
    found.connect("forgiven", "eve")
    assert spend(found, "forgiven", 60).count(ADMIT) == 60  # a full budget again
    found.forget("forgiven")
    clock.now += 60 / 20.0  # full again
    found.connect("again", "eve")
    flood_until_closed(found, "again")
    found.forget("again")
    clock.now += 60 / 20.0 + 0.1  # a first strike again: the shortest cool-down
    found.connect("back", "eve")


def test_an_address_pays_for_frames_from_connections_without_a_log_in(clock):
    found = budgets(clock)
    assert [found.admit_address("10.0.0.1") for _ in range(200)].count(ADMIT) == 120
    assert found.admit_address("10.0.0.2") == ADMIT  # another address is not affected
    clock.now += 1.0
    assert [found.admit_address("10.0.0.1") for _ in range(100)].count(ADMIT) == 40


def test_turned_off_budgets_admit_everything(clock):
    found = budgets(clock, event_rate=0, user_event_rate=0, refusals_before_disconnect=0,
                    max_sockets_per_user=0)
    found.connect("s1", "ana")
    assert set(spend(found, "s1", 1000)) == {ADMIT}
    assert {found.admit_address("10.0.0.1") for _ in range(1000)} == {ADMIT}
