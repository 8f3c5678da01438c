"""GET /api/v1/help: no log-in, no cookies, no trace in the session; a bad
MEND_HELP_RESOURCES stops the app (and `mend run`) with one sentence."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.app import create_app
from server.config import Config
from server.services.help import HelpResourcesError

MEND = str(Path(sys.executable).with_name("mend"))


def test_anyone_can_get_their_countrys_list_without_logging_in(app):
    client = app.test_client()
    response = client.get("/api/v1/help?country=gb")
    assert response.status_code == 200
    data = response.get_json()
    assert data["ok"] is True and data["country"] == "GB"
    assert list(data) == ["ok", "country", "countries", "resources"]
    samaritans = next(r for r in data["resources"] if r["name"] == "Samaritans")
    assert samaritans == {
        "name": "Samaritans",
        "description": samaritans["description"],
        "phone": "116 123",
        "url": "https://www.samaritans.org",
        "hours": "24/7",
        "kind": "crisis",
        "source": "www.samaritans.org",
        "checked": "2026-12-08",
    }
    assert {r["kind"] for r in data["resources"]} == {"emergency", "crisis", "domestic_violence",
                                                      "own_behaviour"}
    codes = [c["code"] for c in data["countries"]]
    assert {"US", "GB", "AU", "international"} <= set(codes) and codes[-1] == "international"
    # Nothing is remembered: no cookie is set, and the browser is told not to cache it.
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("query", ["", "?country=", "?country=XX", "?country=../../etc",
                                   "?country=international"])
def test_an_unknown_or_missing_country_gets_the_international_list(app, query):
    data = app.test_client().get(f"/api/v1/help{query}").get_json()
    assert data["country"] == "international"
    assert any(r["kind"] == "emergency" for r in data["resources"])


def test_the_page_carries_the_configured_leave_url(data_dir):
    config = Config(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'm.sqlite3'}",
                    secret_key="test-secret-key-that-is-long-enough", async_mode="threading",
                    testing=True, leave_url="https://example.org/weather?a=1&b=2")
    page = create_app(config).test_client().get("/").get_data(as_text=True)
    assert '<meta name="mend-leave-url" content="https://example.org/weather?a=1&amp;b=2">' \
        in page
    assert 'data-testid="get-help"' in page and 'data-testid="leave-quickly"' in page


def test_opening_help_mid_session_sends_the_partner_nothing_and_changes_nothing(partners):
    """Ana asks for help (as her browser does, and even with her cookies): Ben's socket
    receives nothing, and the session is exactly as it was."""
    before = partners.emit(partners.sock_b, "session:join")["state"]
    partners.sock_b.get_received()  # drain
    partners.sock_a.get_received()
    for country in ("US", "GB", None):
        query = f"?country={country}" if country else ""
        assert partners.a.get(f"/help{query}").status_code == 200
    assert partners.sock_b.get_received() == []
    assert partners.sock_a.get_received() == []
    after = partners.emit(partners.sock_b, "session:join")["state"]
    assert after == before


def _config_with(data_dir: Path, help_file: Path) -> Config:
    return Config(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'm.sqlite3'}",
                  secret_key="test-secret-key-that-is-long-enough", async_mode="threading",
                  testing=True, help_resources_path=help_file)


def test_the_operators_file_is_what_help_serves(data_dir, tmp_path):
    help_file = tmp_path / "help.yaml"
    help_file.write_text(
        "countries:\n"
        "  NO:\n    name: Norway\n    resources:\n"
        "      - {name: Mental Helse, description: Someone to talk to., kind: crisis,"
        " phone: '116 123'}\n"
        "  international:\n    name: Elsewhere\n    resources:\n"
        "      - {name: Emergency, description: Local number., kind: emergency, phone: '112'}\n"
    )
    client = create_app(_config_with(data_dir, help_file)).test_client()
    data = client.get("/api/v1/help?country=NO").get_json()
    assert data["country"] == "NO"
    assert [r["name"] for r in data["resources"]] == ["Mental Helse"]
    assert data["countries"] == [{"code": "NO", "name": "Norway"},
                                 {"code": "international", "name": "Elsewhere"}]


BAD_FILE = "countries:\n  international:\n    name: X\n    resources:\n" \
           "      - {name: E, description: D, kind: hotline, phone: '112'}\n"


def test_a_malformed_file_stops_the_app_from_being_built(data_dir, tmp_path):
    help_file = tmp_path / "help.yaml"
    help_file.write_text(BAD_FILE)
    with pytest.raises(HelpResourcesError, match="kind must be one of"):
        create_app(_config_with(data_dir, help_file))


def test_mend_run_with_a_malformed_file_exits_with_one_sentence(tmp_path):
    help_file = tmp_path / "help.yaml"
    help_file.write_text(BAD_FILE)
    data = tmp_path / "data"
    data.mkdir()
    env = {**os.environ, "MEND_DATA_DIR": str(data), "MEND_ASYNC_MODE": "threading",
           "MEND_HELP_RESOURCES": str(help_file)}
    # Port 9 (discard) is never bound: the process must stop before it listens anywhere.
    done = subprocess.run([MEND, "run", "--host", "127.0.0.1", "--port", "9"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        f"mend: MEND_HELP_RESOURCES ({help_file}) is not usable: country international, "
        "resource 1: kind must be one of emergency, crisis, domestic_violence, own_behaviour, "
        "not 'hotline'."
    )
    assert "Traceback" not in done.stderr and "Mend is running" not in done.stdout
