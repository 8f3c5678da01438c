"""The `mend` console script as a person runs it: demo, and account reset-password."""

from __future__ import annotations

import os
import pty
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from server.app import create_app
from server.config import Config
from server.content import load_library
from server.db import Database
from server.engine import MendError
from server.services import accounts, sessions

MEND = str(Path(sys.executable).with_name("mend"))
ALEX = "alex@demo.mend.local"


def mend(data_dir: Path, *args: str, stdin: str | None = None, cwd: Path | None = None):
    env = {**os.environ, "MEND_DATA_DIR": str(data_dir)}
    env.pop("MEND_DATABASE_URL", None)
    return subprocess.run([MEND, *args], env=env, input=stdin, capture_output=True, text=True,
                          timeout=60, cwd=cwd or data_dir)


def database(data_dir: Path) -> Database:
    return Database(f"sqlite:///{data_dir / 'mend.sqlite3'}")


def test_demo_twice_reuses_the_couple_and_its_session_on_the_trust_track(data_dir, tmp_path):
    first = mend(data_dir, "demo")
    assert first.returncode == 0, first.stderr
    second = mend(data_dir, "demo")
    assert second.returncode == 0, second.stderr
    path_of = [line.split(" at ")[-1] for out in (first.stdout, second.stdout)
               for line in out.splitlines() if "/s/" in line]
    assert len(path_of) == 2 and path_of[0] == path_of[1], (first.stdout, second.stdout)
    assert "Understanding our trust" in first.stdout

    db_ = database(data_dir)
    with db_.session() as db:
        alex = accounts.authenticate(db, email=ALEX, password="mend-demo-pass")
        library = load_library(Config.from_env({"MEND_DATA_DIR": str(data_dir)}).content_dir)
        mine = sessions.sessions_of(db, library, alex.id)
    db_.dispose()
    assert [(s["track"]["id"], s["status"]) for s in mine] == [
        ("understanding-our-trust", "active")]
    assert path_of[0] == f"/s/{mine[0]['id']}"

    # The command it suggests works from anywhere: an absolute executable, this data dir.
    [hint] = [line for line in second.stdout.splitlines() if line.startswith("Start the server")]
    words = shlex.split(hint.split(":", 1)[1])
    assert words[0] == f"MEND_DATA_DIR={data_dir}"
    assert words[-1] == "run"
    program = words[1]
    assert Path(program).is_absolute() and os.access(program, os.X_OK), hint
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    check = subprocess.run([program, "run", "--help"], cwd=elsewhere, capture_output=True,
                           text=True, timeout=30)
    assert check.returncode == 0 and "--port" in check.stdout


@pytest.fixture
def demo(data_dir) -> Path:
    assert mend(data_dir, "demo").returncode == 0
    return data_dir


def can_log_in(data_dir: Path, password: str) -> bool:
    db_ = database(data_dir)
    try:
        with db_.session() as db:
            accounts.authenticate(db, email=ALEX, password=password)
        return True
    except MendError:
        return False
    finally:
        db_.dispose()


def logged_in_browser(data_dir: Path):
    """Alex's browser, logged in through the real app on the same database."""
    config = Config(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'mend.sqlite3'}",
                    secret_key="test-secret-key-that-is-long-enough", async_mode="threading",
                    testing=True)
    app = create_app(config)
    client = app.test_client()
    csrf = client.get("/api/v1/csrf").get_json()["csrf_token"]
    response = client.post("/api/v1/auth/login", headers={"X-CSRFToken": csrf},
                           json={"email": ALEX, "password": "mend-demo-pass"})
    assert response.status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    return app, client


def test_reset_password_from_stdin_changes_it_and_ends_log_ins(demo):
    app, browser = logged_in_browser(demo)
    result = mend(demo, "account", "reset-password", "Alex@Demo.mend.local", "--stdin",
                  stdin="a fresh passphrase\n")
    assert result.returncode == 0, result.stderr
    assert "a fresh passphrase" not in result.stdout
    assert can_log_in(demo, "a fresh passphrase")
    assert not can_log_in(demo, "mend-demo-pass")
    assert browser.get("/api/v1/me").status_code == 401  # that log-in is over
    app.extensions["mend"].database.dispose()


def test_reset_password_generate_prints_a_working_password(demo):
    result = mend(demo, "account", "reset-password", ALEX, "--generate")
    assert result.returncode == 0, result.stderr
    [line] = [x for x in result.stdout.splitlines() if x.startswith("New password for")]
    password = line.rsplit(" ", 1)[1]
    assert len(password) >= 12 and can_log_in(demo, password)


@pytest.mark.parametrize("args, stdin, message", [
    (["nobody@example.test", "--generate"], None, "no account"),
    ([ALEX, "--stdin"], "short\n", "at least 8"),
    ([ALEX], "", "--stdin"),  # no terminal and no --stdin: says what to do instead
])
def test_reset_password_refusals_change_nothing(demo, args, stdin, message):
    result = mend(demo, "account", "reset-password", *args, stdin=stdin or "")
    assert result.returncode == 1
    assert message in result.stderr
    assert can_log_in(demo, "mend-demo-pass")


def _on_a_terminal(data_dir: Path, answers: list[str]) -> tuple[int, str]:
    """Run reset-password with a pseudo-terminal as its controlling terminal (getpass
    reads /dev/tty), typing each answer when the prompt before it appears."""
    leader, follower = pty.openpty()
    follower_name = os.ttyname(follower)

    def become_terminal_session() -> None:
        os.setsid()
        fd = os.open(follower_name, os.O_RDWR)  # the first tty opened becomes ours
        for target in (0, 1, 2):
            os.dup2(fd, target)

    process = subprocess.Popen(
        [MEND, "account", "reset-password", ALEX],
        env={**os.environ, "MEND_DATA_DIR": str(data_dir)}, cwd=data_dir,
        preexec_fn=become_terminal_session, close_fds=True,
    )
    os.close(follower)
    seen = b""
    prompts = [b"New password: ", b"Repeat it: "][: len(answers)]
    deadline = time.monotonic() + 30
    for prompt, answer in zip(prompts, answers, strict=True):
        while prompt not in seen:
            assert time.monotonic() < deadline, seen
            seen += os.read(leader, 1024)
        seen = seen.replace(prompt, b"", 1)
        os.write(leader, answer.encode() + b"\n")
    status = process.wait(30)
    try:
        while True:
            chunk = os.read(leader, 1024)
            if not chunk:
                break
            seen += chunk
    except OSError:  # EIO: the terminal's other side closed
        pass
    os.close(leader)
    return status, seen.decode(errors="replace")


def test_reset_password_prompts_twice_on_a_terminal(demo):
    status, screen = _on_a_terminal(demo, ["typed on a tty", "typed on a tty"])
    assert status == 0, screen
    assert "typed on a tty" not in screen  # getpass does not echo
    assert can_log_in(demo, "typed on a tty")


def test_two_different_answers_change_nothing(demo):
    status, screen = _on_a_terminal(demo, ["typed on a tty", "something else"])
    assert status == 1 and "differ" in screen
    assert can_log_in(demo, "mend-demo-pass")
