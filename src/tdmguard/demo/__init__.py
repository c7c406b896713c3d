"""Sample catalogue and dataset for ``tdmguard demo`` (data only; see ``data/NOTICE.md``)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["demo_data_dir"]


def demo_data_dir() -> Path:
    return Path(str(files("tdmguard.demo") / "data"))
