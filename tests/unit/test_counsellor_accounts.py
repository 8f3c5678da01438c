"""Who is a counsellor: asked for at sign-up, granted and revoked only by an administrator.

Services on SQLite in memory; the CLI and the HTTP API are in
tests/integration/test_counsellor_cli.py.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from server.db import Database
from server.engine import MendError
from server.models import Base, User
from server.services import accounts, couples

PASSWORD = "correct horse"


@pytest.fixture
def db():
    database = Database("sqlite://")
    Base.metadata.create_all(database.engine)
    with database.session() as session:
        yield session
    database.dispose()


def sign_up(db, name: str, role: str | None = None) -> accounts.Account:
    return accounts.sign_up(db, email=f"{name.lower()}@example.test", password=PASSWORD,
                            display_name=name, role=role)


def code_of(error: pytest.ExceptionInfo[MendError]) -> str:
    assert error.value.message  # always a sentence for a person
    return error.value.code


def test_signing_up_as_a_counsellor_only_asks_for_the_role(db):
    dr = sign_up(db, "Doctor", role="counsellor")
    assert dr.role == "partner" and dr.counsellor_requested is True
    assert dr.to_dict()["role"] == "partner"
    assert dr.to_dict()["counsellor_requested"] is True
    # The same when the account is loaded again (every request and socket event does).
    again = accounts.get_account(db, dr.id)
    assert again.role == "partner" and again.counsellor_requested is True
    logged_in = accounts.authenticate(db, email="doctor@example.test", password=PASSWORD)
    assert logged_in.to_dict()["counsellor_requested"] is True


@pytest.mark.parametrize("role", [None, "", "partner"])
def test_a_partner_sign_up_asks_for_nothing(db, role):
    ana = sign_up(db, "Ana", role=role)
    assert ana.role == "partner" and ana.to_dict()["counsellor_requested"] is False
    assert accounts.get_account(db, ana.id).counsellor_requested is False


@pytest.mark.parametrize("role", ["admin", "Counsellor", 1, ["counsellor"]])
def test_an_unknown_role_is_invalid_and_stores_nothing(db, role):
    with pytest.raises(MendError) as error:
        sign_up(db, "Eve", role=role)
    assert code_of(error) == "invalid"
    assert db.scalar(select(func.count()).select_from(User)) == 0


def test_grant_makes_a_counsellor_and_can_run_twice(db):
    dr = sign_up(db, "Doctor", role="counsellor")
    granted = accounts.grant_counsellor(db, "  DOCTOR@example.test ")
    assert granted.id == dr.id and granted.role == "counsellor"
    assert accounts.get_account(db, dr.id).role == "counsellor"
    assert accounts.grant_counsellor(db, "doctor@example.test").role == "counsellor"


def test_grant_of_an_unknown_email_is_not_found(db):
    with pytest.raises(MendError) as error:
        accounts.grant_counsellor(db, "nobody@example.test")
    assert code_of(error) == "not_found"


def test_grant_refuses_a_partner_in_a_couple(db):
    ana, ben = sign_up(db, "Ana"), sign_up(db, "Ben")
    code = couples.create_couple(db, ana.id)["invite_code"]
    with pytest.raises(MendError) as waiting:  # a couple still waiting for the partner
        accounts.grant_counsellor(db, "ana@example.test")
    assert code_of(waiting) == "conflict" and "separate account" in waiting.value.message
    couples.join_couple(db, ben.id, code)
    with pytest.raises(MendError) as complete:
        accounts.grant_counsellor(db, "ben@example.test")
    assert code_of(complete) == "conflict"
    db.expire_all()
    assert {accounts.get_account(db, p.id).role for p in (ana, ben)} == {"partner"}


@pytest.mark.parametrize("granted", [False, True], ids=["asked", "granted"])
def test_a_counsellor_account_cannot_create_or_join_a_couple(db, granted):
    ana = sign_up(db, "Ana")
    dr = sign_up(db, "Doctor", role="counsellor")
    if granted:
        accounts.grant_counsellor(db, "doctor@example.test")
    code = couples.create_couple(db, ana.id)["invite_code"]
    for attempt in (lambda: couples.create_couple(db, dr.id),
                    lambda: couples.join_couple(db, dr.id, code)):
        with pytest.raises(MendError) as error:
            attempt()
        assert code_of(error) == "forbidden"
    assert couples.couples_of(db, dr.id) == []
    [couple] = couples.couples_of(db, ana.id)
    assert len(couple.members) == 1  # Ana's place for her partner is still open


def test_the_list_shows_counsellors_and_who_is_waiting_for_the_role(db):
    sign_up(db, "Ana")
    sign_up(db, "Zed", role="counsellor")
    sign_up(db, "Bea", role="counsellor")
    sign_up(db, "Cal", role="counsellor")
    accounts.grant_counsellor(db, "zed@example.test")
    granted, waiting = accounts.counsellor_accounts(db)
    assert [a.email for a in granted] == ["zed@example.test"]
    assert [a.email for a in waiting] == ["bea@example.test", "cal@example.test"]


def test_revoke_of_someone_who_is_not_a_counsellor_changes_nothing(db, library):
    ana = sign_up(db, "Ana")
    with pytest.raises(MendError) as error:
        accounts.revoke_counsellor(db, "ana@example.test", library=library)
    assert code_of(error) == "conflict"
    with pytest.raises(MendError) as unknown:
        accounts.revoke_counsellor(db, "nobody@example.test", library=library)
    assert code_of(unknown) == "not_found"
    assert accounts.get_account(db, ana.id).role == "partner"


def test_revoke_makes_a_partner_account_that_still_joins_no_couple(db, library):
    ana = sign_up(db, "Ana")
    dr = sign_up(db, "Doctor", role="counsellor")
    accounts.grant_counsellor(db, "doctor@example.test")
    revoked = accounts.revoke_counsellor(db, "doctor@example.test", library=library)
    assert revoked.role == "partner" and revoked.counsellor_requested is True
    assert accounts.get_account(db, dr.id).role == "partner"
    # Back on the waiting list: an administrator may grant it again.
    granted, waiting = accounts.counsellor_accounts(db)
    assert granted == [] and [a.id for a in waiting] == [dr.id]
    code = couples.create_couple(db, ana.id)["invite_code"]
    with pytest.raises(MendError) as error:
        couples.join_couple(db, dr.id, code)
    assert code_of(error) == "forbidden"
    # Running it again finishes an interrupted revoke and changes nothing else.
    assert accounts.revoke_counsellor(db, "doctor@example.test", library=library).role == \
        "partner"
    assert accounts.grant_counsellor(db, "doctor@example.test").role == "counsellor"


@pytest.fixture
def library():
    from server.config import resource_dir
    from server.content import load_library

    return load_library(resource_dir("content"))


def counsellor_in_a_session(db, library) -> tuple[accounts.Account, str]:
    """Ana and Ben's session, which their granted counsellor joined with both consents."""
    from server.services import moderation, sessions

    ana, ben = sign_up(db, "Ana"), sign_up(db, "Ben")
    sign_up(db, "Doctor", role="counsellor")
    dr = accounts.grant_counsellor(db, "doctor@example.test")
    couple_code = couples.create_couple(db, ana.id)["invite_code"]
    couple_id = couples.join_couple(db, ben.id, couple_code)["id"]
    session_id = sessions.start_session(db, library, ana.id, couple_id,
                                        "understanding-our-trust")["id"]
    invite = moderation.invite_counsellor(db, library, ana.id, session_id).result
    moderation.consent_to_counsellor(db, library, ben.id, session_id)
    moderation.join_as_counsellor(db, library, dr.id, invite["invite_code"])
    assert sessions.load_state(db, library, session_id).participant(dr.id) is not None
    return dr, session_id


def test_revoke_takes_the_counsellor_out_of_every_session_they_joined(db, library):
    from server.services import sessions

    dr, session_id = counsellor_in_a_session(db, library)
    accounts.revoke_counsellor(db, "doctor@example.test", library=library)
    db.rollback()
    state = sessions.load_state(db, library, session_id)
    assert state.participant(dr.id) is None
    # The couple is told in the session's audit trail.
    assert [(e.action, e.target_user_id) for e in state.audit][-1] == (
        "counsellor_access_revoked", dr.id)
    assert accounts.get_account(db, dr.id).role == "partner"
