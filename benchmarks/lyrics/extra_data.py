"""Data for the lyrics benchmark's issue-14 cases, fetched with the ordinary package clients
and cached under ``$TDMGUARD_CACHE/lyrics`` (never committed):

- quotations and song excerpts: Debian ``fortunes`` and ``fortunes-min`` (fortune-mod
  cookie files, BSD licence; ``usr/share/doc/fortunes/copyright``). ``songs-poems`` holds
  English song and poem texts (registered), every other file quotations, sayings and jokes
  (the unrelated documents; a cookie that repeats 12+ words of a registered text in order
  is a real quote and is left out of the negatives).
- short classical Chinese lyrics: Song ci of npm ``chinese-poetry`` 2.0.1 (MIT licence,
  ``dist/songci/ci.song.*.json``), 40-120 Han characters; the Tang and Song shi of Debian
  ``fortunes-zh`` (``tang300``, ``song100``) as more unrelated Chinese text.
"""

from __future__ import annotations

import glob
import json
import re
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.lyrics.data import cache_dir

__all__ = ["Ci", "chinese_ci", "chinese_shi", "fortune_cookies", "fortunes_dir", "han_count"]

FORTUNE_DEBS = ("fortunes", "fortunes-min", "fortunes-zh")
CHINESE_POETRY = "chinese-poetry@2.0.1"
_HAN = re.compile("[\u4e00-\u9fff]")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def fortunes_dir() -> Path:
    """The unpacked fortune packages (``apt-get download`` + ``dpkg -x`` once)."""
    root = cache_dir() / "fortunes"
    if not (root / ".done").exists():
        root.mkdir(parents=True, exist_ok=True)
        debs = list(root.glob("*.deb"))
        if len(debs) < len(FORTUNE_DEBS):
            subprocess.run(["apt-get", "download", *FORTUNE_DEBS], cwd=root, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for deb in root.glob("*.deb"):
            subprocess.run(["dpkg", "-x", str(deb), str(root / "x")], check=True)
        (root / ".done").write_text("ok")
    return root / "x" / "usr" / "share" / "games" / "fortunes"


def _cookies(path: Path) -> list[str]:
    raw = _ANSI.sub("", path.read_text("utf-8", errors="replace"))
    return [c.strip("\n") for c in re.split(r"\n%\n", raw) if c.strip()]


_ATTRIBUTION = re.compile(r"^\s*(--|-- |\u2014)")


def fortune_cookies() -> tuple[list[str], list[str]]:
    """(song and poem texts of ``songs-poems`` with at least 4 lines and 25 words, their
    attribution lines removed; every cookie of the other English files)."""
    folder = fortunes_dir()
    songs = []
    for cookie in _cookies(folder / "songs-poems"):
        lines = [ln for ln in cookie.split("\n") if not _ATTRIBUTION.match(ln)]
        text = "\n".join(lines).strip("\n")
        if text.count("\n") >= 3 and len(text.split()) >= 25:
            songs.append(text)
    others: list[str] = []
    for path in sorted(folder.iterdir()):
        if path.suffix in (".dat", ".u8") or path.is_dir() or path.name in (
                "songs-poems", "song100", "tang300", "chinese"):
            continue
        others += _cookies(path)
    return songs, others


def han_count(text: str) -> int:
    return len(_HAN.findall(text))


@dataclass(frozen=True, slots=True)
class Ci:
    work_id: str
    text: str  # one sentence (paragraph of the source) per line


def chinese_ci(min_han: int = 40, max_han: int = 120) -> list[Ci]:
    """Every Song ci of 40-120 Han characters (21,053 ci in the package, ~16,700 fit)."""
    cache = cache_dir()
    tgz = cache / "chinese-poetry-2.0.1.tgz"
    if not tgz.exists():
        subprocess.run(["npm", "pack", CHINESE_POETRY], cwd=cache, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    target = cache / "songci"
    if not target.exists():
        tmp = cache / ".songci.tmp"
        tmp.mkdir(exist_ok=True)
        with tarfile.open(tgz) as tar:
            members = [m for m in tar.getmembers() if "/dist/songci/ci.song." in m.name
                       or m.name == "package/LICENSE"]
            tar.extractall(tmp, members=members, filter="data")
        tmp.rename(target)
    out = []
    for path in sorted(glob.glob(str(target / "package/dist/songci/ci.song.*.json"))):
        for number, row in enumerate(json.loads(Path(path).read_text("utf-8"))):
            text = "\n".join(str(p) for p in row.get("paragraphs", []))
            if min_han <= han_count(text) <= max_han:
                out.append(Ci(f"{Path(path).stem}#{number}", text))
    return out


def chinese_shi() -> list[str]:
    """The Tang and Song poems of ``fortunes-zh`` (title and author lines dropped)."""
    folder = fortunes_dir()
    out = []
    for name in ("tang300", "song100"):
        for cookie in _cookies(folder / name):
            body = [ln for ln in cookie.split("\n")
                    if ln.strip() and not ln.startswith(("题目", "作者"))]
            if han_count("".join(body)) >= 20:
                out.append("\n".join(body))
    return out
