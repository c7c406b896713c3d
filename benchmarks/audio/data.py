"""Real music for the audio benchmark, fetched from Debian and cached outside the repository.

``apt-get download`` + ``dpkg -x`` into ``$TDMGUARD_CACHE/bench-audio/`` (default
``~/.cache/tdmguard``); nothing is installed and nothing enters the repository. Packages and
licences: ``../shared/reference/dev-data.md`` section 1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

__all__ = ["CACHE", "Catalogue", "load_catalogue"]

CACHE = Path(os.environ.get("TDMGUARD_CACHE", Path.home() / ".cache" / "tdmguard")) / "bench-audio"

# package -> glob of its tracks inside the unpacked tree
_TRACKS = {
    "singularity-music": "usr/share/games/singularity/music/*.ogg",
    "fretsonfire-songs-muldjord": "usr/share/games/fretsonfire/data/songs/muldjord/*/song.ogg",
    "drascula-music": "usr/share/scummvm/drascula/audio/*.ogg",  # the other 5 folders are copies
    "wesnoth-1.16-music": "usr/share/games/wesnoth/1.16/data/core/music/*.ogg",
    "nexuiz-music": "sound/cdtracks/*.ogg",  # inside data/music.pk3, a zip
}


def _unpack(package: str) -> Path:
    root = CACHE / "x" / package
    if root.is_dir():
        return root
    debs = CACHE / "deb"
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{package}_*.deb"))
    if not found:
        got = subprocess.run(["apt-get", "download", package], cwd=debs, check=False)
        if got.returncode != 0:  # package lists not fetched yet on this machine
            subprocess.run(["apt-get", "update", "-qq"], check=False)
            subprocess.run(["apt-get", "download", package], cwd=debs, check=True)
        found = sorted(debs.glob(f"{package}_*.deb"))
    tmp = root.with_name(root.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg", "-x", str(found[-1]), str(tmp)], check=True)
    if package == "nexuiz-music":
        pk3 = next(tmp.rglob("music.pk3"))
        with zipfile.ZipFile(pk3) as zf:
            zf.extractall(tmp, [n for n in zf.namelist() if n.endswith(".ogg")])
    tmp.rename(root)
    return root


def tracks(package: str, *, min_duration_s: float = 30.0) -> list[Path]:
    root = _unpack(package)
    out = []
    for path in sorted(root.glob(_TRACKS[package])):
        if sf.info(str(path)).duration >= min_duration_s:
            out.append(path)
    return out


@dataclass(frozen=True)
class Catalogue:
    registered: list[Path]  # the rights holder's catalogue
    negatives: list[Path]  # never indexed: false-positive queries
    distractors: list[Path]  # indexed as speed variants to reach >= 100 h


def load_catalogue() -> Catalogue:
    return Catalogue(
        registered=tracks("singularity-music"),
        negatives=tracks("fretsonfire-songs-muldjord") + tracks("drascula-music"),
        distractors=tracks("wesnoth-1.16-music") + tracks("nexuiz-music"),
    )
