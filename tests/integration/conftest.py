"""Fixtures that read like a story: an app, people who sign up, a couple, a session."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from server.app import create_app
from server.config import Config
from server.db import make_engine, upgrade
from server.extensions import socketio
from tests.conftest import require

POSTGRES_URL = os.environ.get("MEND_TEST_POSTGRES_URL")


def _fresh_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, data_dir) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{data_dir / 'mend.sqlite3'}"
    require(bool(POSTGRES_URL), "MEND_TEST_POSTGRES_URL is not set")
    _fresh_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
def app(data_dir, database_url) -> Flask:
    upgrade(database_url)
    config = Config(
        data_dir=data_dir,
        database_url=database_url,
        secret_key="test-secret-key-that-is-long-enough",
        async_mode="threading",
        testing=True,
    )
    app = create_app(config)
    yield app
    app.extensions["mend"].database.dispose()


@dataclass
class Person:
    """Someone using Mend: their browser (HTTP client) and what the server knows of them."""

    client: FlaskClient
    user: dict
    email: str
    password: str

    def csrf(self) -> dict:
        token = self.client.get("/api/v1/csrf").get_json()["csrf_token"]
        return {"X-CSRFToken": token}

    def post(self, path: str, json: dict | None = None):
        return self.client.post(f"/api/v1{path}", json=json or {}, headers=self.csrf())

    def get(self, path: str):
        return self.client.get(f"/api/v1{path}")

    def socket(self, app: Flask):
        return socketio.test_client(app, flask_test_client=self.client)


@pytest.fixture
def signup(app):
    def make(name: str, role: str = "partner") -> Person:
        client = app.test_client()
        email = f"{name.lower()}@example.test"
        token = client.get("/api/v1/csrf").get_json()["csrf_token"]
        response = client.post(
            "/api/v1/auth/signup",
            json={"email": email, "password": "correct horse", "display_name": name,
                  "role": role},
            headers={"X-CSRFToken": token},
        )
        # Sign-up logs nobody in (it answers alike for a taken address): log in next.
        assert response.status_code == 202, response.get_json()
        token = client.get("/api/v1/csrf").get_json()["csrf_token"]
        response = client.post(
            "/api/v1/auth/login", json={"email": email, "password": "correct horse"},
            headers={"X-CSRFToken": token},
        )
        assert response.status_code == 200, response.get_json()
        return Person(client, response.get_json()["user"], email, "correct horse")

    return make


@dataclass
class Couple:
    a: Person
    b: Person
    couple_id: str


@pytest.fixture
def couple(signup) -> Couple:
    a, b = signup("Ana"), signup("Ben")
    created = a.post("/couples").get_json()
    joined = b.post("/couples/join", {"invite_code": created["invite_code"]})
    assert joined.status_code == 200, joined.get_json()
    return Couple(a, b, created["couple"]["id"])


@dataclass
class LiveSession:
    """Two partners with sockets already joined to one session."""

    app: Flask
    a: Person
    b: Person
    session_id: str
    sock_a: object
    sock_b: object
    state: dict

    def step_ids(self) -> list[str]:
        return [s["id"] for s in self.state["steps"]]

    def emit(self, sock, event: str, **payload):
        return sock.emit(event, {"session_id": self.session_id, **payload}, callback=True)

    def current_step(self, sock) -> str:
        ack = self.emit(sock, "session:join")
        return ack["state"]["session"]["current_step_id"]


TRACK_ID = "understanding-our-trust"


@pytest.fixture
def partners(app, couple) -> LiveSession:
    response = couple.a.post("/sessions", {"couple_id": couple.couple_id, "track_id": TRACK_ID})
    assert response.status_code == 201, response.get_json()
    session_id = response.get_json()["session"]["id"]
    sock_a, sock_b = couple.a.socket(app), couple.b.socket(app)
    assert sock_a.is_connected() and sock_b.is_connected()
    ack_a = sock_a.emit("session:join", {"session_id": session_id}, callback=True)
    ack_b = sock_b.emit("session:join", {"session_id": session_id}, callback=True)
    assert ack_a["ok"] and ack_b["ok"]
    live = LiveSession(app, couple.a, couple.b, session_id, sock_a, sock_b, ack_a["state"])
    yield live
    for sock in (sock_a, sock_b):
        if sock.is_connected():
            sock.disconnect()


def couple_in_session(db, library, track_id: str) -> tuple:
    """Two partners signed up, a couple, and a session started on `track_id`, through the
    services: (partner a, partner b, couple id, session id)."""
    from server.services import accounts, couples
    from server.services.sessions import start_session

    a = accounts.sign_up(db, email="a@x.test", password="correct horse", display_name="A")
    b = accounts.sign_up(db, email="b@x.test", password="correct horse", display_name="B")
    code = couples.create_couple(db, a.id)["invite_code"]
    couple_id = couples.join_couple(db, b.id, code)["id"]
    return a, b, couple_id, start_session(db, library, a.id, couple_id, track_id)["id"]
