"""Build step: ship the top-level content/, client/ and migrations/ inside the wheel.

Why a build_py step rather than a package-dir mapping: the three folders stay where the
product keeps them (top level, not Python packages), server.content already names the
track loader, and a mapping would turn data folders into importable packages and make
editable installs depend on setuptools' mapped-package finder. Copying them to
server/_bundled/ at build time leaves the checkout untouched; at run time
server.config.resource_dir() finds them there, or beside the checkout for an editable
install (which skips this copy).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLED = ("content", "client", "migrations")
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", ".DS_Store")


class build_py_with_resources(build_py):  # noqa: N801 (setuptools' naming)
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # the editable install reads the checkout's folders directly
        for name in BUNDLED:
            source = ROOT / name
            if not (source / ".").is_dir():
                raise SystemExit(f"setup.py: {source} is missing; it must ship with Mend")
            target = Path(self.build_lib) / "server" / "_bundled" / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(source, target, ignore=JUNK)


setup(cmdclass={"build_py": build_py_with_resources})
