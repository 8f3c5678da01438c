import pytest

from server.config import Config, ConfigError


def test_defaults_are_sqlite_in_the_data_dir_and_gevent(tmp_path):
    config = Config.from_env({"MEND_DATA_DIR": str(tmp_path)})
    assert config.database_url == f"sqlite:///{tmp_path / 'mend.sqlite3'}"
    assert config.async_mode == "gevent" and config.redis_url is None


def test_the_secret_key_is_generated_once_and_kept(tmp_path):
    first = Config.from_env({"MEND_DATA_DIR": str(tmp_path)}).secret_key
    again = Config.from_env({"MEND_DATA_DIR": str(tmp_path)}).secret_key
    assert first == again and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # readable by the owner only


@pytest.mark.parametrize("key", ["k" * 64, "short"])
def test_a_secret_key_file_an_older_mend_left_readable_is_made_private(tmp_path, key):
    path = tmp_path / "secret_key"
    path.write_text(key)
    path.chmod(0o644)
    config = Config.from_env({"MEND_DATA_DIR": str(tmp_path)})
    assert path.stat().st_mode & 0o777 == 0o600
    # A long enough key is kept (nobody is logged out); a short one is replaced.
    assert (config.secret_key == key) is (len(key) >= 32)


def test_environment_overrides(tmp_path):
    config = Config.from_env({
        "MEND_DATA_DIR": str(tmp_path), "MEND_ASYNC_MODE": "Eventlet",
        "MEND_DATABASE_URL": "postgresql://db/mend", "MEND_SECRET_KEY": "s" * 20,
        "MEND_REDIS_URL": "redis://localhost:6379/0",
    })
    assert (config.async_mode, config.database_url, config.secret_key, config.redis_url) == (
        "eventlet", "postgresql://db/mend", "s" * 20, "redis://localhost:6379/0")
    assert "s" * 20 not in repr(config)


@pytest.mark.parametrize("env,words", [
    ({"MEND_ASYNC_MODE": "tornado"}, "MEND_ASYNC_MODE must be one of"),
    ({"MEND_SECRET_KEY": "short"}, "at least 16 characters"),
    ({"MEND_SMTP_URL": "smtp://127.0.0.1:25"}, "MEND_PUBLIC_URL must be set"),
    ({"MEND_TICK_SECONDS": "soon"}, "MEND_TICK_SECONDS must be a number"),
])
def test_a_bad_value_is_one_clear_sentence(tmp_path, env, words):
    with pytest.raises(ConfigError) as error:
        Config.from_env({"MEND_DATA_DIR": str(tmp_path), **env})
    assert words in str(error.value)
