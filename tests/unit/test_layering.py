"""ARCHITECTURE.md's rooms, checked: what each part of server/ may import."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parents[2] / "server"

# part -> import prefixes it must never use
FORBIDDEN = {
    "engine": ("flask", "flask_socketio", "flask_login", "sqlalchemy", "server."),
    "content": ("server.web", "server.realtime", "server.services", "flask", "sqlalchemy"),
    "models": ("server.web", "server.realtime", "server.services", "flask"),
    "services": ("server.web", "server.realtime", "flask", "flask_socketio"),
    "realtime": ("server.models",),
    "web": ("server.models",),
}
ENGINE_ALLOWED_INTERNAL = ("server.engine",)


def imports_of(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("part", sorted(FORBIDDEN))
def test_each_part_imports_only_what_the_architecture_allows(part):
    offences = []
    for path in (SERVER / part).rglob("*.py"):
        for name in imports_of(path):
            if part == "engine" and name.startswith(ENGINE_ALLOWED_INTERNAL):
                continue
            if any(name == p.rstrip(".") or name.startswith(p) for p in FORBIDDEN[part]):
                offences.append(f"{path.relative_to(SERVER)} imports {name}")
    assert offences == []


def test_the_engine_uses_the_standard_library_only():
    outside = set()
    for path in (SERVER / "engine").rglob("*.py"):
        for name in imports_of(path):
            top = name.split(".")[0]
            if top not in sys.stdlib_module_names and top not in ("server", "__future__"):
                outside.add(name)
    assert outside == set()
