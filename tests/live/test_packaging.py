"""`pip install` of a built wheel gives a `mend` that runs from any directory.

Builds the sdist and, from it, the wheel (python -m build), installs the wheel into a
fresh virtualenv (no system site-packages, so nothing from this checkout can leak in),
then runs `mend content check` and `mend run` from an unrelated directory.
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


def run(args: list, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True,
                            timeout=timeout, **kwargs)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin/ directory of a fresh virtualenv with the built wheel installed."""
    require(importlib.util.find_spec("build") is not None,
            "the 'build' package (in the test extra) is not installed")
    work = tmp_path_factory.mktemp("packaging")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    dist = work / "dist"
    run([sys.executable, "-m", "build", "--outdir", dist, source])  # sdist, then wheel from it

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
    with tarfile.open(sdist) as archive:
        assert "mend-0.1.0/LICENSE" in archive.getnames()

    venv = work / "venv"
    run([sys.executable, "-m", "venv", venv])
    # Dependencies come from the package index (pip's cache makes repeats quick).
    run([venv / "bin" / "python", "-m", "pip", "install", "--quiet",
         "--disable-pip-version-check", wheel], timeout=600)
    return venv / "bin"


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


def test_the_installed_mend_checks_content_and_serves_the_client(installed, tmp_path):
    elsewhere, data_dir = tmp_path / "elsewhere", tmp_path / "data"
    elsewhere.mkdir()
    env = clean_env(data_dir)
    mend = installed / "mend"

    check = run([mend, "content", "check"], cwd=elsewhere, env=env, timeout=60)
    assert "ok  understanding-our-trust" in check.stdout

    port = free_port()
    process = subprocess.Popen(
        [mend, "run", "--host", "127.0.0.1", "--port", str(port)], cwd=elsewhere, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
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
        page = requests.get(f"{url}/", timeout=10)
        assert page.status_code == 200 and SHELL in page.content
        script = requests.get(f"{url}/static/app.js", timeout=10)
        assert script.status_code == 200
        assert script.content == (ROOT / "client" / "app.js").read_bytes()
        signup = requests.Session()
        csrf = signup.get(f"{url}/api/v1/csrf", timeout=10).json()["csrf_token"]
        made = signup.post(f"{url}/api/v1/auth/signup", headers={"X-CSRFToken": csrf},
                           json={"email": "pkg@example.test", "password": "long enough",
                                 "display_name": "Pkg"}, timeout=10)
        assert made.status_code == 202, made.text  # the migrations ran: the tables exist
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "Mend stopped." in out
    assert (data_dir / "mend.sqlite3").exists()
