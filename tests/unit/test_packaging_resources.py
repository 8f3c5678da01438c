"""resource_dir: the installed package's copy first, else the checkout's folder."""

from __future__ import annotations

import pytest

from server import config


def test_a_checkout_uses_the_top_level_folders():
    assert not config.BUNDLED_ROOT.exists()  # setup.py only creates it inside a build
    for name in config.RESOURCE_DIRS:
        assert config.resource_dir(name) == config.PROJECT_ROOT / name
        assert config.resource_dir(name).is_dir()


def test_a_bundled_copy_wins(tmp_path, monkeypatch):
    (tmp_path / "client").mkdir()
    monkeypatch.setattr(config, "BUNDLED_ROOT", tmp_path)
    assert config.resource_dir("client") == tmp_path / "client"
    assert config.resource_dir("content") == config.PROJECT_ROOT / "content"  # not bundled
    assert config.Config(data_dir=tmp_path, database_url="sqlite://",
                         secret_key="x" * 32).client_dir == tmp_path / "client"


def test_only_known_folders_are_resources():
    with pytest.raises(ValueError):
        config.resource_dir("../etc")


def test_alembic_needs_nothing_from_the_working_directory(tmp_path, monkeypatch):
    from server.db import alembic_config

    monkeypatch.chdir(tmp_path)
    cfg = alembic_config("sqlite://")
    assert cfg.config_file_name is None
    assert cfg.get_main_option("script_location") == str(config.resource_dir("migrations"))
