"""`pip install` of a built wheel gives a `mend` that runs from any directory.

Builds the sdist and, from it, the wheel (python -m build, its build backend pinned by
constraints.txt), installs the wheel at constraints.txt's versions into a fresh virtualenv
(no system site-packages, so nothing from this checkout can leak in), then runs `mend
content check` and `mend run` from an unrelated directory: gevent from the default install,
then eventlet once the `eventlet` extra is added.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.conftest import require
from tests.live.conftest import free_port

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parents[2]
# Everything a source checkout has that a build must not need or pick up.
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "tests",
                                    "bench", "__pycache__", ".pytest_cache", ".ruff_cache",
                                    "node_modules", ".hypothesis")
SHELL = b'<script type="module" src="/static/app.js"></script>'
CONSTRAINTS = ROOT / "constraints.txt"


def run(args: list, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True,
                            timeout=timeout, **kwargs)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


def pip_install(bin_dir: Path, *requirements) -> None:
    """pip install at the tested versions. Dependencies come from the package index (pip's
    cache makes repeats quick)."""
    run([bin_dir / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-c", CONSTRAINTS, *requirements], timeout=600)


def importable(bin_dir: Path, module: str) -> bool:
    probe = subprocess.run([bin_dir / "python", "-c", f"import {module}"], capture_output=True,
                           timeout=60)
    return probe.returncode == 0


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from the sdist of a copy of this checkout."""
    require(importlib.util.find_spec("build") is not None,
            "the 'build' package (in the test extra) is not installed")
    work = tmp_path_factory.mktemp("packaging")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    dist = work / "dist"
    # sdist, then wheel from it; setuptools at the pinned version in build's isolated env.
    run([sys.executable, "-m", "build", "--outdir", dist, source],
        env={**os.environ, "PIP_BUILD_CONSTRAINT": str(CONSTRAINTS)})

    [wheel], [sdist] = dist.glob("*.whl"), dist.glob("*.tar.gz")
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in ("server/_bundled/migrations/env.py", "server/_bundled/client/index.html",
                    "server/_bundled/client/app.js",
                    "server/_bundled/content/schema/track.schema.json",
                    "mend-0.1.0.dist-info/licenses/LICENSE"):
        assert shipped in names, f"{shipped} is not in {wheel.name}"
    assert any(n.startswith("server/_bundled/migrations/versions/0001") for n in names)
    metadata = zipfile.ZipFile(wheel).read("mend-0.1.0.dist-info/METADATA").decode()
    assert "License-Expression: Apache-2.0" in metadata
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines()
                if line.startswith("Requires-Dist:")]
    # gevent is the default install; eventlet is one extra away, never pulled in otherwise.
    assert any(r.startswith("gevent") and "extra ==" not in r for r in requires), requires
    assert "Provides-Extra: eventlet" in metadata
    assert all('extra == "eventlet"' in r for r in requires if r.startswith("eventlet")), requires
    with tarfile.open(sdist) as archive:
        assert "mend-0.1.0/LICENSE" in archive.getnames()
    return wheel


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The bin/ directory of a fresh virtualenv with the built wheel installed, no extras."""
    venv = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", venv])
    bin_dir = venv / "bin"
    pip_install(bin_dir, wheel)
    assert importable(bin_dir, "gevent") and importable(bin_dir, "geventwebsocket")
    assert not importable(bin_dir, "eventlet"), "the default install pulled in eventlet"
    return bin_dir


@pytest.fixture(scope="module")
def installed_with_eventlet(installed, wheel) -> Path:
    """The same virtualenv after `pip install 'mend[eventlet]'` (the wheel, with the extra)."""
    pip_install(installed, f"{wheel}[eventlet]")
    assert importable(installed, "eventlet")
    return installed


def clean_env(data_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MEND_", "PYTHON", "VIRTUAL_ENV"))}
    return {**env, "MEND_DATA_DIR": str(data_dir)}


def test_resources_come_from_the_installed_package(installed, tmp_path):
    probe = run([installed / "python", "-c",
                 "from server.config import resource_dir as r;"
                 "print(*(r(n) for n in ('content', 'client', 'migrations')), sep='\\n')"],
                cwd=tmp_path, env=clean_env(tmp_path))
    venv = installed.parent.resolve()
    for line in probe.stdout.split():
        path = Path(line).resolve()
        assert path.is_relative_to(venv) and path.is_dir(), path


@contextmanager
def mend_run(bin_dir: Path, cwd: Path, env: dict) -> Iterator[str]:
    """`mend run` on a free port until it answers /healthz; yields its URL. On leaving,
    Ctrl+C stops it and it must say so and exit 0."""
    port = free_port()
    process = subprocess.Popen(
        [bin_dir / "mend", "run", "--host", "127.0.0.1", "--port", str(port)], cwd=cwd,
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the installed mend run never answered"
            try:
                if requests.get(f"{url}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.05)
        yield url
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "Mend stopped." in out
    mode = env.get("MEND_ASYNC_MODE", "gevent")
    assert f"({mode}, SQLite in" in out, out  # the server says which async mode it runs


def sign_up(url: str, email: str) -> None:
    """A sign-up answered 202: the migrations ran, the tables exist, CSRF works."""
    signup = requests.Session()
    csrf = signup.get(f"{url}/api/v1/csrf", timeout=10).json()["csrf_token"]
    made = signup.post(f"{url}/api/v1/auth/signup", headers={"X-CSRFToken": csrf},
                       json={"email": email, "password": "long enough", "display_name": "Pkg"},
                       timeout=10)
    assert made.status_code == 202, made.text


def test_the_installed_mend_checks_content_and_serves_the_client(installed, tmp_path):
    elsewhere, data_dir = tmp_path / "elsewhere", tmp_path / "data"
    elsewhere.mkdir()
    env = clean_env(data_dir)

    check = run([installed / "mend", "content", "check"], cwd=elsewhere, env=env, timeout=60)
    assert "ok  understanding-our-trust" in check.stdout

    with mend_run(installed, elsewhere, env) as url:
        page = requests.get(f"{url}/", timeout=10)
        assert page.status_code == 200 and SHELL in page.content
        script = requests.get(f"{url}/static/app.js", timeout=10)
        assert script.status_code == 200
        assert script.content == (ROOT / "client" / "app.js").read_bytes()
        sign_up(url, "pkg@example.test")
    assert (data_dir / "mend.sqlite3").exists()


def test_the_eventlet_extra_runs_mend_under_eventlet(installed_with_eventlet, tmp_path):
    elsewhere, data_dir = tmp_path / "elsewhere", tmp_path / "data"
    elsewhere.mkdir()
    env = {**clean_env(data_dir), "MEND_ASYNC_MODE": "eventlet"}

    with mend_run(installed_with_eventlet, elsewhere, env) as url:
        page = requests.get(f"{url}/", timeout=10)
        assert page.status_code == 200 and SHELL in page.content
        # Engine.IO's handshake: the Socket.IO stack answers under eventlet's server.
        handshake = requests.get(f"{url}/socket.io/", params={"EIO": "4", "transport": "polling"},
                                 timeout=10)
        assert handshake.status_code == 200 and handshake.text.startswith('0{"sid":'), \
            handshake.text
        sign_up(url, "pkg-eventlet@example.test")
    assert (data_dir / "mend.sqlite3").exists()
