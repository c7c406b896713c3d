from __future__ import annotations

from pathlib import Path

import pytest

from tdmguard.config import Settings, sqlite_path
from tdmguard.errors import ConfigError


def test_defaults_next_to_the_sqlite_file(tmp_path: Path) -> None:
    s = Settings.load(environ={}, cwd=tmp_path)
    assert s.db_url == f"sqlite:///{tmp_path / 'tdmguard.db'}"
    assert s.index_dir == tmp_path / "tdmguard.index"
    assert s.research_exception is False


def test_flags_beat_environment(tmp_path: Path) -> None:
    env = {"TDMGUARD_DB": str(tmp_path / "env.db"), "TDMGUARD_INDEX": str(tmp_path / "idx"),
           "TDMGUARD_RESEARCH_EXCEPTION": "yes"}
    s = Settings.load(environ=env, cwd=tmp_path)
    assert sqlite_path(s.db_url) == tmp_path / "env.db" and s.index_dir == tmp_path / "idx"
    assert s.research_exception is True
    s = Settings.load(db="postgresql+psycopg://u@h/db", environ=env, cwd=tmp_path)
    assert s.db_url == "postgresql+psycopg://u@h/db" and sqlite_path(s.db_url) is None
    s = Settings.load(db="postgresql+psycopg://u@h/db", environ={}, cwd=tmp_path)
    assert s.index_dir == tmp_path / "tdmguard.index"


def test_bad_environment_is_named() -> None:
    with pytest.raises(ConfigError, match="TDMGUARD_RESEARCH_EXCEPTION"):
        Settings.load(environ={"TDMGUARD_RESEARCH_EXCEPTION": "maybe"})


def test_server_settings_from_the_environment(tmp_path: Path) -> None:
    from tdmguard.config import ServerSettings

    env = {"TDMGUARD_DB": str(tmp_path / "r.db"), "TDMGUARD_MAX_UPLOAD_MB": "5",
           "TDMGUARD_CHECK_PRIVATE_HOSTS": "1"}
    settings = ServerSettings.load(env)
    assert settings.max_upload_bytes == 5 * 1024 * 1024 and settings.check_private_hosts
    assert settings.registry.db_url.endswith("r.db") and settings.max_check_urls == 100
    for name, value in (("TDMGUARD_MAX_UPLOAD_MB", "lots"), ("TDMGUARD_MAX_UPLOAD_MB", "0"),
                        ("TDMGUARD_CHECK_PRIVATE_HOSTS", "maybe")):
        with pytest.raises(ConfigError) as err:
            ServerSettings.load(env | {name: value})
        assert err.value.where == name
