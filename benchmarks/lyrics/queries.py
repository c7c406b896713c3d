"""Query generation: lyric excerpts planted in background documents with the distortions of
issue 6 (case, punctuation and line breaks changed; 5 % / 10 % of words substituted;
lines interleaved with other text)."""

from __future__ import annotations

import enum
import random
import re
from dataclasses import dataclass

from benchmarks.lyrics.data import BackgroundDoc, Lyric

__all__ = ["TARGETED", "Condition", "Query", "make_queries", "shuffled_variant"]


class Condition(enum.StrEnum):
    VERBATIM = "verbatim"  # 2-8 lines (>= 12 words) as registered
    RESTYLED = "restyled"  # case, punctuation and line breaks changed
    SUBST5 = "subst5"  # restyled + 5 % of words substituted
    SUBST10 = "subst10"  # restyled + 10 % of words substituted
    INTERLEAVED = "interleaved"  # restyled, a sentence of other text after every line
    # stress conditions beyond issue 6's targets, to show where matching stops
    SUBST20 = "subst20"  # restyled + 20 % of words substituted
    SHORT8 = "short8"  # 8 words only, restyled


TARGETED = (Condition.VERBATIM, Condition.RESTYLED, Condition.SUBST5, Condition.SUBST10,
            Condition.INTERLEAVED)


@dataclass(frozen=True, slots=True)
class Query:
    condition: Condition
    work_id: str
    text: str
    insert_start: int  # characters of the planted excerpt in ``text``
    insert_end: int
    excerpt_words: int


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _excerpt(lyric: Lyric, rng: random.Random) -> list[str]:
    lines = [ln for ln in lyric.text.split("\n") if ln.strip()]
    k = rng.randint(2, 8)
    start = rng.randrange(0, max(1, len(lines) - k + 1))
    stop = min(len(lines), start + k)
    # issue 6 counts excerpts of 2+ lines with >= 12 words: grow forwards, then backwards
    while sum(len(ln.split()) for ln in lines[start:stop]) < 12 and (
        stop < len(lines) or start > 0
    ):
        if stop < len(lines):
            stop += 1
        else:
            start -= 1
    return lines[start:stop]


def _restyle(lines: list[str], rng: random.Random) -> list[str]:
    case = rng.choice(("upper", "lower", "title", "mixed"))
    out: list[str] = []
    for line in lines:
        if case == "upper":
            line = line.upper()
        elif case == "lower":
            line = line.lower()
        elif case == "title":
            line = line.title()
        else:
            line = " ".join(w.upper() if rng.random() < 0.3 else w for w in line.split())
        punct = rng.random()
        if punct < 0.3:
            line = re.sub(r"[^\w\s']", "", line)
        elif punct < 0.6:
            line = " ".join(w + ("," if rng.random() < 0.2 else "") for w in line.split())
            line += rng.choice((".", "!", "...", " -"))
        out.append(line)
    return out


def _join(lines: list[str], rng: random.Random) -> str:
    style = rng.choice(("newline", "slash", "space", "rebreak", "quoted"))
    if style == "newline":
        return "\n".join(lines)
    if style == "slash":
        return " / ".join(lines)
    if style == "space":
        return " ".join(lines)
    if style == "quoted":
        return '"' + " ".join(lines) + '"'
    words = " ".join(lines).split()
    parts = []
    i = 0
    while i < len(words):
        n = rng.randint(3, 6)
        parts.append(" ".join(words[i : i + n]))
        i += n
    return "\n".join(parts)


def _substitute(text: str, rate: float, vocabulary: list[str], rng: random.Random) -> str:
    words = text.split(" ")
    spots = [i for i, w in enumerate(words) if re.search(r"\w", w)]
    count = max(1, round(rate * len(spots)))
    for i in rng.sample(spots, min(count, len(spots))):
        words[i] = rng.choice(vocabulary)
    return " ".join(words)


def _plant(doc: BackgroundDoc, excerpt: str, rng: random.Random) -> tuple[str, int, int]:
    paras = doc.text.split("\n\n")
    at = rng.randrange(0, len(paras) + 1)
    before = "\n\n".join(paras[:at])
    prefix = before + ("\n\n" if before else "") + rng.choice(
        ("As the song goes: ", "I love this part: ", "", "Quote:\n", "Someone posted:\n\n"))
    rest = "\n\n".join(paras[at:])
    text = prefix + excerpt + ("\n\n" + rest if rest else "")
    return text, len(prefix), len(prefix) + len(excerpt)


def make_queries(
    lyrics: list[Lyric], docs: list[BackgroundDoc], per_condition: int, seed: int = 6
) -> list[Query]:
    rng = random.Random(seed)
    vocabulary = sorted({w for d in docs[:200] for w in re.findall(r"[a-z]{3,}", d.text)})
    sentences = [s for d in docs[:400] for s in _SENTENCE.split(d.text) if 5 < len(s) < 300]
    out: list[Query] = []
    for condition in Condition:
        for _ in range(per_condition):
            lyric = rng.choice(lyrics)
            doc = rng.choice(docs)
            lines = _excerpt(lyric, rng)
            if condition is Condition.SHORT8:
                first = rng.randrange(0, max(1, len(lines[0].split()) - 1))
                lines = [" ".join(" ".join(lines).split()[first : first + 8])]
            words = sum(len(ln.split()) for ln in lines)
            if condition is Condition.VERBATIM:
                excerpt = "\n".join(lines)
            elif condition is Condition.INTERLEAVED:
                styled = _restyle(lines, rng)
                excerpt = "\n".join(f"{ln}\n{rng.choice(sentences)}" for ln in styled)
            else:
                excerpt = _join(_restyle(lines, rng), rng)
                if condition is Condition.SUBST5:
                    excerpt = _substitute(excerpt, 0.05, vocabulary, rng)
                elif condition is Condition.SUBST10:
                    excerpt = _substitute(excerpt, 0.10, vocabulary, rng)
                elif condition is Condition.SUBST20:
                    excerpt = _substitute(excerpt, 0.20, vocabulary, rng)
            text, start, end = _plant(doc, excerpt, rng)
            out.append(Query(condition, lyric.work_id, text, start, end, words))
    return out


def shuffled_variant(doc: BackgroundDoc, rng: random.Random, copy: int) -> BackgroundDoc:
    """A new document from ``doc``: paragraphs and the sentences in each shuffled (used to
    scale the background to hundreds of MB with text that is still ordinary prose)."""
    paras = doc.text.split("\n\n")
    rng.shuffle(paras)
    shuffled = []
    for para in paras:
        sents = _SENTENCE.split(para)
        rng.shuffle(sents)
        shuffled.append(" ".join(sents))
    return BackgroundDoc(doc.source, f"{doc.name}~{copy}", "\n\n".join(shuffled))
