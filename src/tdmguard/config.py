"""Settings, built once at the edge (CLI, server) from flags and the environment, then
passed down. No module reads the environment on its own."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tdmguard.errors import ConfigError

__all__ = ["DEFAULT_DB_FILE", "ServerSettings", "Settings", "default_data_dir", "sqlite_path"]

DEFAULT_DB_FILE = "tdmguard.db"


def default_data_dir() -> Path:
    """Where the registry lives when no ``--db``/``TDMGUARD_DB`` is given: the platform's user
    data folder (``$XDG_DATA_HOME/tdmguard`` or ``~/.local/share/tdmguard`` on Linux,
    ``~/Library/Application Support/tdmguard`` on macOS, ``%LOCALAPPDATA%\\tdmguard`` on
    Windows)."""
    import platformdirs

    return platformdirs.user_data_path("tdmguard", appauthor=False)


def sqlite_path(db_url: str) -> Path | None:
    """The file behind a ``sqlite:///`` URL, or None for other databases."""
    prefix = "sqlite:///"
    if db_url.startswith(prefix):
        rest = db_url[len(prefix) :]
        return Path(rest) if rest and rest != ":memory:" else None
    return None


def _as_db_url(value: str) -> str:
    if "://" in value:
        return value
    # A plain path means a SQLite file.
    return f"sqlite:///{Path(value).expanduser().resolve()}"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable. ``db_url`` is a SQLAlchemy URL; ``index_dir`` the
    fingerprint index folder; ``research_exception`` honours EU DSM Art. 3 for research."""

    db_url: str
    index_dir: Path
    research_exception: bool = False
    db_is_default: bool = False  # neither --db nor TDMGUARD_DB named it

    @classmethod
    def load(
        cls,
        *,
        db: str | None = None,
        index: str | None = None,
        research_exception: bool | None = None,
        environ: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        data_dir: Path | None = None,
    ) -> Settings:
        """Flags win over the environment (``TDMGUARD_DB``, ``TDMGUARD_INDEX``,
        ``TDMGUARD_RESEARCH_EXCEPTION``), which wins over the defaults (the registry in
        :func:`default_data_dir`)."""
        env = os.environ if environ is None else environ
        base = cwd or Path.cwd()
        named_db = db or env.get("TDMGUARD_DB")
        raw_db = named_db or str((data_dir or default_data_dir()) / DEFAULT_DB_FILE)
        db_url = _as_db_url(raw_db)
        raw_index = index or env.get("TDMGUARD_INDEX")
        if raw_index:
            index_dir = Path(raw_index).expanduser().resolve()
        else:
            db_file = sqlite_path(db_url)
            if db_file is not None:
                index_dir = db_file.parent / (db_file.stem + ".index")
            else:
                index_dir = (base / "tdmguard.index").resolve()
        if research_exception is None:
            flag = env.get("TDMGUARD_RESEARCH_EXCEPTION", "0").strip().lower()
            if flag not in {"0", "1", "true", "false", "yes", "no", ""}:
                raise ConfigError(
                    f"expected 0/1/true/false, got {flag!r}", where="TDMGUARD_RESEARCH_EXCEPTION"
                )
            research_exception = flag in {"1", "true", "yes"}
        return cls(db_url=db_url, index_dir=index_dir, research_exception=research_exception,
                   db_is_default=not named_db)


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"expected a whole number, got {raw!r}", where=name) from exc
    if value < minimum:
        raise ConfigError(f"must be at least {minimum}", where=name)
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "0").strip().lower()
    if raw not in {"0", "1", "true", "false", "yes", "no", ""}:
        raise ConfigError(f"expected 0/1/true/false, got {raw!r}", where=name)
    return raw in {"1", "true", "yes"}


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """``registry``: the database and index (``TDMGUARD_DB``, ``TDMGUARD_INDEX``, as the
    CLI). ``max_upload_bytes``: request bodies above it get 413
    (``TDMGUARD_MAX_UPLOAD_MB``, default 100). ``max_check_urls``: URLs per ``/v1/check``
    call (``TDMGUARD_MAX_CHECK_URLS``, default 100). ``check_private_hosts``: let
    ``/v1/check`` fetch loopback and private addresses (``TDMGUARD_CHECK_PRIVATE_HOSTS``,
    off: a server must not be a proxy into its own network)."""

    registry: Settings
    max_upload_bytes: int = 100 * 1024 * 1024
    max_check_urls: int = 100
    check_private_hosts: bool = False
    # Folder of signed snapshots (`registry export --out DIR/...`) served under /v1/snapshots
    # and /v1/feed (``TDMGUARD_SNAPSHOTS_DIR``; unset: no snapshot routes).
    snapshots_dir: Path | None = None

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> ServerSettings:
        env = os.environ if environ is None else environ
        return cls(
            registry=Settings.load(environ=env),
            max_upload_bytes=_int(env, "TDMGUARD_MAX_UPLOAD_MB", 100, minimum=1) * 1024 * 1024,
            max_check_urls=_int(env, "TDMGUARD_MAX_CHECK_URLS", 100, minimum=1),
            check_private_hosts=_flag(env, "TDMGUARD_CHECK_PRIVATE_HOSTS"),
            snapshots_dir=Path(env["TDMGUARD_SNAPSHOTS_DIR"]).expanduser()
            if env.get("TDMGUARD_SNAPSHOTS_DIR", "").strip() else None,
        )
