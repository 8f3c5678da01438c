"""Who is a counsellor, end to end: sign-up only asks for the role, an administrator grants
and revokes it with `mend counsellor …`, and the migration turns old self-declared
counsellors into requests. On SQLite, and on PostgreSQL when MEND_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from server import cli
from server.db import alembic_config, make_engine, upgrade

MEND = str(Path(sys.executable).with_name("mend"))
TRACK_ID = "understanding-our-trust"


@pytest.fixture
def mend(monkeypatch, capsys, data_dir, database_url):
    """`mend ARGS…` through the console script's own entry, against the test database."""
    monkeypatch.setenv("MEND_DATA_DIR", str(data_dir))
    monkeypatch.setenv("MEND_DATABASE_URL", database_url)

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return code, out, err

    return run


def error_code(response) -> str:
    body = response.get_json()
    assert body["ok"] is False and body["error"]["message"]
    return body["error"]["code"]


def test_signing_up_as_a_counsellor_gives_an_account_that_only_asked_for_the_role(signup):
    dr = signup("Doctor", role="counsellor")
    assert dr.user["role"] == "partner" and dr.user["counsellor_requested"] is True
    me = dr.get("/me").get_json()["user"]
    assert me["role"] == "partner" and me["counsellor_requested"] is True
    ana = signup("Ana")
    assert ana.user["counsellor_requested"] is False


@pytest.mark.parametrize("granted", [False, True], ids=["asked", "granted"])
def test_a_counsellor_account_cannot_create_or_join_a_couple(signup, mend, granted):
    ana, dr = signup("Ana"), signup("Doctor", role="counsellor")
    if granted:
        assert mend("counsellor", "grant", dr.email)[0] == 0
    code = ana.post("/couples").get_json()["invite_code"]
    create = dr.post("/couples")
    assert create.status_code == 403 and error_code(create) == "forbidden"
    join = dr.post("/couples/join", {"invite_code": code})
    assert join.status_code == 403 and error_code(join) == "forbidden"
    assert dr.get("/me").get_json()["couples"] == []
    [couple] = ana.get("/me").get_json()["couples"]
    assert couple["status"] == "waiting"


def test_an_administrator_grants_the_role_and_the_next_request_sees_it(signup, mend):
    dr = signup("Doctor", role="counsellor")
    code, out, _ = mend("counsellor", "grant", "Doctor@Example.test")
    assert code == 0 and "doctor@example.test is a counsellor now" in out
    me = dr.get("/me").get_json()["user"]  # the same log-in, no need to log in again
    assert me["role"] == "counsellor"


def test_grant_refuses_a_partner_in_a_couple_and_an_unknown_email(couple, mend):
    code, _, err = mend("counsellor", "grant", couple.a.email)
    assert code == 1 and err.startswith("mend: ") and "separate account" in err
    assert couple.a.get("/me").get_json()["user"]["role"] == "partner"
    code, _, err = mend("counsellor", "grant", "nobody@example.test")
    assert code == 1 and "no account" in err
    code, _, err = mend("counsellor", "grant", "not an email")
    assert code == 1 and "valid email" in err


def test_the_list_shows_counsellors_and_who_waits_for_a_grant(signup, mend):
    code, out, _ = mend("counsellor", "list")
    assert code == 0 and "No counsellors" in out
    signup("Ana")
    signup("Doctor", role="counsellor")
    signup("Bea", role="counsellor")
    assert mend("counsellor", "grant", "doctor@example.test")[0] == 0
    code, out, _ = mend("counsellor", "list")
    assert code == 0
    granted, _, waiting = out.partition("Not granted")
    assert "doctor@example.test" in granted and "bea@example.test" not in granted
    assert "bea@example.test" in waiting and "doctor@example.test" not in waiting
    assert "ana@example.test" not in out


def test_revoke_takes_the_role_and_the_counsellors_sessions_away(app, couple, signup, mend):
    from server.services import moderation, sessions

    dr = signup("Doctor", role="counsellor")
    assert mend("counsellor", "grant", dr.email)[0] == 0
    ctx = app.extensions["mend"]
    with ctx.database.session() as db:
        session_id = sessions.start_session(db, ctx.library, couple.a.user["id"],
                                            couple.couple_id, TRACK_ID)["id"]
        invite = moderation.invite_counsellor(db, ctx.library, couple.a.user["id"],
                                              session_id).result
        moderation.consent_to_counsellor(db, ctx.library, couple.b.user["id"], session_id)
        moderation.join_as_counsellor(db, ctx.library, dr.user["id"], invite["invite_code"])
    assert dr.get(f"/sessions/{session_id}").status_code == 200

    code, out, _ = mend("counsellor", "revoke", dr.email)
    assert code == 0 and "no longer a counsellor" in out
    me = dr.get("/me").get_json()["user"]
    assert me["role"] == "partner" and me["counsellor_requested"] is True
    assert dr.get(f"/sessions/{session_id}").status_code in (403, 404)
    # Both partners see them gone, and why, in the session's audit trail.
    for partner in (couple.a, couple.b):
        view = partner.get(f"/sessions/{session_id}").get_json()["state"]
        assert dr.user["id"] not in {p["user_id"] for p in view["participants"]}
        assert [(e["action"], e["target_user_id"]) for e in view["audit"]][-1] == (
            "counsellor_access_revoked", dr.user["id"])
    # Not a counsellor any more: a second revoke finishes nothing new but does no harm,
    # and a partner who never was one is refused.
    assert mend("counsellor", "revoke", dr.email)[0] == 0
    code, _, err = mend("counsellor", "revoke", couple.a.email)
    assert code == 1 and "not a counsellor" in err


def test_the_installed_mend_command_grants_lists_and_revokes(signup, data_dir, database_url):
    signup("Doctor", role="counsellor")
    env = {**os.environ, "MEND_DATA_DIR": str(data_dir), "MEND_DATABASE_URL": database_url}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([MEND, "counsellor", *args], env=env, capture_output=True,
                              text=True, timeout=120, cwd=data_dir)

    grant = run("grant", "doctor@example.test")
    assert grant.returncode == 0, grant.stderr
    listed = run("list")
    assert listed.returncode == 0 and "doctor@example.test" in listed.stdout.split(
        "Not granted")[0]
    revoke = run("revoke", "doctor@example.test")
    assert revoke.returncode == 0, revoke.stderr
    refused = run("grant", "nobody@example.test")
    assert refused.returncode == 1 and refused.stderr.startswith("mend: ")
    assert "Traceback" not in refused.stderr


def test_the_migration_turns_a_self_declared_counsellor_into_a_request(database_url):
    command.upgrade(alembic_config(database_url), "0004")
    engine = make_engine(database_url)
    with engine.begin() as conn:
        for user_id, role in (("old-counsellor", "counsellor"), ("old-partner", "partner")):
            conn.execute(text(
                "INSERT INTO users (id, email, display_name, password_hash, role, created_at, "
                "login_generation) VALUES (:id, :email, 'Someone', 'x', :role, "
                "CURRENT_TIMESTAMP, 0)"), {"id": user_id, "email": f"{user_id}@example.test",
                                           "role": role})
    upgrade(database_url)
    with engine.connect() as conn:
        rows = {user_id: (role, bool(requested)) for user_id, role, requested in conn.execute(
            text("SELECT id, role, counsellor_requested FROM users"))}
    engine.dispose()
    assert rows == {"old-counsellor": ("partner", True), "old-partner": ("partner", False)}
