"""The lyrics benchmark's issue-14 cases.

1. Quotations: unrelated documents of quotations and song excerpts (fortune cookies) against
   registered English song/poem texts (fortune ``songs-poems``) and the music21 lyrics: how
   many unrelated documents match, and the recall of 2+ line excerpts of the registered
   songs planted in such documents.
2. Short CJK lyrics: Song ci of 40-120 characters, whole or two-line excerpts, with 10 %
   of characters substituted, planted in Chinese text; unrelated ci and Tang/Song shi as
   negatives.

Both run the shipped engine and report recall at any level and confident only, and the
unrelated documents matched confidently and as review (``Match.detail["confidence"]``).
``robustness=True`` adds two-line quotes with line breaks and punctuation removed, heavier
case/punctuation changes, and contractions swapped for their full forms (drawn after the
other cases, so those draws do not move).

``part``: ``"all"`` draws query texts from every registered song and uses every unrelated
document (the benchmark's own draw, seed 14); ``"held"`` (seed 2027) draws queries only from
odd-numbered songs and uses only odd-numbered unrelated documents, the half that was not
used to choose the engine's parameters; ``"calib"`` (seed 99) is the even half they were
chosen on. For CJK the part only sets the seed.
"""

from __future__ import annotations

import contextlib
import random
import re
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from benchmarks.lyrics.data import Lyric
from benchmarks.lyrics.extra_data import chinese_ci, chinese_shi, fortune_cookies, han_count
from benchmarks.lyrics.queries import _join, _restyle, _substitute
from tdmguard.fingerprint.lyrics import LyricsFingerprinter
from tdmguard.fingerprint.lyrics.engine import MatchSettings
from tdmguard.index.hash_index import HashIndex, SegmentWriter

__all__ = ["quote_cases", "run_cjk", "run_quotes"]

_WORD = re.compile(r"\w+")
_HAN = re.compile("[\u4e00-\u9fff]")
COPY_WORDS = 12  # a negative repeating this many words of a registered text in order quotes it


@contextlib.contextmanager
def engine_min6() -> Iterator[LyricsFingerprinter]:
    """The shipped engine with the previous evidence minimum: 6 words (now 5)."""
    engine = LyricsFingerprinter()
    engine.settings = MatchSettings(min_words=6.0)
    yield engine


COMPARISONS = {"min_words6": engine_min6}
PARTS = {"all": 14, "held": 2027, "calib": 99}


def _index(engine: LyricsFingerprinter, works: Sequence[tuple[str, str]], folder: Path) -> Any:
    HashIndex.create(folder, engine=engine.engine, aux_width=engine.aux_width)
    writer = SegmentWriter(engine.aux_width)
    for work_id, text in works:
        fp = engine.extract_text(text, where=work_id)
        writer.add(work_id, fp.keys, fp.aux, fp.meta)
    HashIndex.append_segment(folder, writer)
    return HashIndex.open(folder)


def _shingles(text: str, n: int) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _plant(host: str, excerpt: str, rng: random.Random) -> str:
    lead = rng.choice(("", "As the song goes: ", "Quote:\n", "I love these lines:\n"))
    return host + "\n\n" + lead + excerpt if rng.random() < 0.5 else (
        lead + excerpt + "\n\n" + host)


def _plant_long(hosts: Sequence[str], excerpt: str, rng: random.Random) -> str:
    """The excerpt inside a long unrelated text (about 40 unrelated documents, 5-10 kB),
    at a random paragraph, sometimes inside a sentence."""
    paras = [rng.choice(hosts) for _ in range(40)]
    at = rng.randrange(1, len(paras))
    if rng.random() < 0.5:
        paras.insert(at, excerpt)
    else:
        paras[at] = paras[at] + " " + rng.choice(("as in ", "like ", "")) + excerpt + " " + (
            rng.choice(hosts))
    return "\n\n".join(paras)


def _evaluate(engine: LyricsFingerprinter, works: Sequence[tuple[str, str]],
              queries: dict[str, list[tuple[str, str]]], negatives: Sequence[str],
              examples: int = 8, features: list[dict[str, Any]] | None = None,
              ) -> dict[str, Any]:
    """Recall (any level, and confident only) per query set; unrelated documents matched
    (confidently, as review). ``features`` collects (words, lines, rarity) of every
    target match and every unrelated match, for calibration."""
    with tempfile.TemporaryDirectory() as tmp:
        index = _index(engine, works, Path(tmp) / "ix")
        recall = {}
        confident = {}
        for name, rows in queries.items():
            hit = sure = 0
            for wid, text in rows:
                found = [m for m in engine.match_text(text, index) if m.work_id == wid]
                hit += bool(found)
                sure += any(m.detail.get("confidence") == "confident" for m in found)
                if features is not None:
                    features.append({"set": name, **_features(found)})
            recall[name] = round(hit / len(rows), 4)
            confident[name] = round(sure / len(rows), 4)
        flagged = flagged_sure = 0
        shown: list[dict[str, Any]] = []
        for text in negatives:
            found = engine.match_text(text, index)
            if found:
                flagged += 1
                flagged_sure += any(m.detail.get("confidence") == "confident" for m in found)
                if features is not None:
                    features.append({"set": "negative", **_features(found)})
                if len(shown) < examples:
                    m = found[0]
                    shown.append({"quote": str(m.detail.get("quote", ""))[:120],
                                  "words": m.detail.get("words"),
                                  "lines": m.detail.get("lines"),
                                  "rarity": m.detail.get("rarity"),
                                  "confidence": m.detail.get("confidence"),
                                  "score": round(m.score, 3)})
    return {"recall": recall, "recall_confident": confident,
            "fp_docs": flagged, "negatives": len(negatives),
            "fp_rate": round(flagged / len(negatives), 6),
            "fp_confident_docs": flagged_sure,
            "fp_confident_rate": round(flagged_sure / len(negatives), 6),
            "fp_review_docs": flagged - flagged_sure,
            "fp_examples": shown}


def _features(found: Sequence[Any]) -> dict[str, Any]:
    if not found:
        return {"found": False}
    best = max(found, key=lambda m: (m.detail.get("confidence") == "confident",
                                     float(m.detail.get("words", 0))))
    return {"found": True, "words": best.detail.get("words"), "lines": best.detail.get("lines"),
            "rarity": best.detail.get("rarity"), "ngrams": best.detail.get("ngrams"),
            "confidence": best.detail.get("confidence"), "score": round(best.score, 3),
            "quote": str(best.detail.get("quote", ""))[:100]}


# contracted and full forms; the robustness cases swap one for the other
CONTRACTIONS = (
    ("do not", "don't"), ("does not", "doesn't"), ("did not", "didn't"),
    ("is not", "isn't"), ("are not", "aren't"), ("was not", "wasn't"),
    ("were not", "weren't"), ("cannot", "can't"), ("will not", "won't"),
    ("would not", "wouldn't"), ("could not", "couldn't"), ("should not", "shouldn't"),
    ("have not", "haven't"), ("has not", "hasn't"), ("i am", "i'm"), ("you are", "you're"),
    ("we are", "we're"), ("they are", "they're"), ("i will", "i'll"), ("you will", "you'll"),
    ("we will", "we'll"), ("i have", "i've"), ("you have", "you've"), ("we have", "we've"),
    ("it is", "it's"), ("that is", "that's"), ("there is", "there's"), ("let us", "let's"),
    ("i would", "i'd"), ("he is", "he's"), ("she is", "she's"), ("what is", "what's"),
)
_SWAP = re.compile(r"\b(" + "|".join(
    re.escape(x) for pair in CONTRACTIONS for x in pair) + r")\b", re.IGNORECASE)
_SWAP_TO = {a: b for a, b in CONTRACTIONS} | {b: a for a, b in CONTRACTIONS}


def _swap_contractions(text: str) -> tuple[str, int]:
    """Every contraction written out and every full form contracted; (text, swaps)."""
    def one(found: re.Match[str]) -> str:
        word = found.group(0)
        out = _SWAP_TO[word.lower().replace("\u2019", "'")]
        return out.capitalize() if word[:1].isupper() else out
    return _SWAP.subn(one, text)


def _case_punct(lines: Sequence[str], rng: random.Random) -> str:
    """Heavier restyling than the generator's: one casing for the whole quote, all
    punctuation dropped or doubled, typographic quotes and dashes glued to words."""
    text = " / ".join(lines) if rng.random() < 0.3 else "\n".join(lines)
    text = rng.choice((str.upper, str.lower, str.title, str.swapcase))(text)
    if rng.random() < 0.5:
        text = re.sub(r"[^\w\s']", "", text)
    else:
        text = re.sub(r"\s+", lambda m: m.group(0) if rng.random() < 0.7 else rng.choice(
            ("\u2014", "...", ", ", " - ", "!! ")), text)
    return rng.choice(("\u201c{}\u201d", "\"{}\"", "'{}'", "({})", "{}")).format(text)


ROBUSTNESS = ("two-lines-subst10-no-breaks", "two-lines-subst10-case-punct",
              "two-lines-contractions", "two-lines-subst10-contractions")


def _robustness_queries(songs: Sequence[str], numbers: Sequence[int], negatives: Sequence[str],
                        vocabulary: list[str], per_condition: int, rng: random.Random,
                        excerpts: dict[str, list[str]] | None = None,
                        ) -> dict[str, list[tuple[str, str]]]:
    """Two-line excerpts beyond the generator's own distortions: line breaks removed (and
    punctuation), heavier case/punctuation changes, contractions swapped (only excerpts
    holding at least one)."""
    queries: dict[str, list[tuple[str, str]]] = {k: [] for k in ROBUSTNESS}
    with_contraction = [(n, i) for n in numbers
                        for i, pair in enumerate(_pairs(songs[n])) if _SWAP.search(pair)]
    for name, rows in queries.items():
        for _ in range(per_condition):
            if "contractions" in name:
                number, at = rng.choice(with_contraction)
                lines = _pairs(songs[number])[at].split("\n")
                excerpt, _ = _swap_contractions(_join(_restyle(lines, rng), rng))
            else:
                number = rng.choice(numbers)
                pairs = _pairs(songs[number])
                lines = rng.choice(pairs).split("\n")
                if name.endswith("no-breaks"):
                    excerpt = re.sub(r"[^\w\s']", "", " ".join(lines)).lower()
                else:
                    excerpt = _case_punct(lines, rng)
            if "subst10" in name:
                excerpt = _substitute(excerpt, 0.10, vocabulary, rng)
            rows.append((f"fortune-song#{number}", _plant(rng.choice(negatives), excerpt, rng)))
            if excerpts is not None:
                excerpts.setdefault(name, []).append(excerpt)
    return queries


def _pairs(song: str) -> list[str]:
    lines = [ln for ln in song.split("\n") if ln.strip()]
    return ["\n".join(lines[i : i + 2]) for i in range(max(1, len(lines) - 1))]


def quote_cases(lyrics: Sequence[Lyric], per_condition: int, part: str = "all",
                robustness: bool = False) -> dict[str, Any]:
    """The quotation case's registered works, queries and unrelated documents for ``part``
    (the draws :func:`run_quotes` evaluates; also read by the miss diagnostics)."""
    rng = random.Random(PARTS[part])
    songs, cookies = fortune_cookies()
    works = [(f"fortune-song#{i}", t) for i, t in enumerate(songs)]
    works += [(ly.work_id, ly.text) for ly in lyrics]
    registered: set[tuple[str, ...]] = set()
    for _, text in works:
        registered |= _shingles(text, COPY_WORDS)
    negatives = [c for c in cookies if not (_shingles(c, COPY_WORDS) & registered)]
    left_out = len(cookies) - len(negatives)
    numbers = list(range(len(songs)))
    if part == "held":
        negatives = negatives[1::2]
        numbers = numbers[1::2]
    elif part == "calib":
        negatives = negatives[0::2]
        numbers = numbers[0::2]
    vocabulary = sorted({w for c in cookies[:3000] for w in re.findall(r"[a-z]{3,}", c)})
    queries: dict[str, list[tuple[str, str]]] = {k: [] for k in (
        "two-lines", "two-lines-subst10", "lines2-8", "lines2-8-subst10",
        "two-lines-subst10-in-long-text")}
    excerpts: dict[str, list[str]] = {k: [] for k in queries}
    for name, rows in queries.items():
        for _ in range(per_condition):
            number = rng.choice(numbers)
            lines = [ln for ln in songs[number].split("\n") if ln.strip()]
            k = 2 if name.startswith("two") else rng.randint(2, 8)
            start = rng.randrange(0, max(1, len(lines) - k + 1))
            excerpt = _join(_restyle(lines[start : start + k], rng), rng)
            if "subst10" in name:
                excerpt = _substitute(excerpt, 0.10, vocabulary, rng)
            text = (_plant_long(negatives, excerpt, rng) if name.endswith("long-text")
                    else _plant(rng.choice(negatives), excerpt, rng))
            rows.append((f"fortune-song#{number}", text))
            excerpts[name].append(excerpt)
    if robustness:  # drawn after the others, so their draws stay as they were
        queries |= _robustness_queries(songs, numbers, negatives, vocabulary, per_condition,
                                       random.Random(PARTS[part] + 1), excerpts)
    return {"works": works, "queries": queries, "negatives": negatives, "excerpts": excerpts,
            "left_out": left_out, "songs": len(songs), "query_songs": len(numbers)}


def _engine(settings: MatchSettings | None) -> LyricsFingerprinter:
    engine = LyricsFingerprinter()
    if settings is not None:
        engine.settings = settings
    return engine


def run_quotes(lyrics: Sequence[Lyric], per_condition: int, part: str = "all",
               compare_with: str | None = None, robustness: bool = False,
               features: list[dict[str, Any]] | None = None,
               settings: MatchSettings | None = None) -> dict[str, Any]:
    case = quote_cases(lyrics, per_condition, part, robustness)
    works, queries, negatives = case["works"], case["queries"], case["negatives"]
    out: dict[str, Any] = {
        "part": part, "seed": PARTS[part],
        "registered": len(works), "registered_songs": case["songs"],
        "query_songs": case["query_songs"],
        "negatives_left_out_as_real_quotes": case["left_out"],
        "shipped": _evaluate(_engine(settings), works, queries, negatives,
                             features=features),
    }
    if compare_with:
        with COMPARISONS[compare_with]() as old:
            out[compare_with] = _evaluate(old, works, queries, negatives, examples=12)
    return out


def _substitute_han(text: str, rate: float, pool: Sequence[str], rng: random.Random) -> str:
    chars = list(text)
    spots = [i for i, c in enumerate(chars) if _HAN.match(c)]
    for i in rng.sample(spots, min(len(spots), max(1, round(rate * len(spots))))):
        chars[i] = rng.choice(pool)
    return "".join(chars)


def _grams(text: str, n: int = 4) -> set[str]:
    han = "".join(_HAN.findall(text))
    return {han[i : i + n] for i in range(len(han) - n + 1)}


def run_cjk(registered: int, per_condition: int, part: str = "all",
            compare_with: str | None = None,
            settings: MatchSettings | None = None) -> dict[str, Any]:
    """Short ci; ``part`` only sets the draw (seed): which ci are registered, which are
    negatives and which are quoted."""
    rng = random.Random(PARTS[part])
    seen: set[str] = set()
    cis = []
    for ci in chinese_ci():
        head = "".join(_HAN.findall(ci.text))[:8]
        if head not in seen:  # the same ci under two authors or tunes
            seen.add(head)
            cis.append(ci)
    rng.shuffle(cis)
    reg = cis[:registered]
    works = [(c.work_id, c.text) for c in reg]
    owner: dict[str, int] = {}
    for number, ci in enumerate(reg):
        for gram in _grams(ci.text):
            owner.setdefault(gram, number)
    # a negative sharing 30 % of its 4-character runs with a registered ci is a variant of it
    negatives = []
    for ci in cis[registered : 2 * registered]:
        grams = _grams(ci.text)
        if grams and sum(g in owner for g in grams) < 0.3 * len(grams):
            negatives.append(ci.text)
    shi = chinese_shi()
    negatives += shi
    pool = [c for ci in cis[:3000] for c in _HAN.findall(ci.text)]
    context = ("我最喜欢的一首词：\n", "", "今天读到这几句，很美。\n", "抄录如下：\n")
    queries: dict[str, list[tuple[str, str]]] = {k: [] for k in (
        "whole-subst10", "two-lines", "two-lines-subst10", "two-lines-subst10-in-long-text")}
    for name, rows in queries.items():
        for _ in range(per_condition):
            ci = rng.choice(reg)
            text = ci.text
            if name.startswith("two"):
                paras = [p for p in text.split("\n") if p.strip()]
                if len(paras) >= 2:
                    at = rng.randrange(0, len(paras) - 1)
                    text = "\n".join(paras[at : at + 2])
            if "subst10" in name:
                text = _substitute_han(text, 0.10, pool, rng)
            if name.endswith("long-text"):
                rows.append((ci.work_id, _plant_long(shi, rng.choice(context) + text, rng)))
                continue
            host = rng.choice(shi)
            rows.append((ci.work_id, host + "\n\n" + rng.choice(context) + text))
    sizes = sorted(han_count(c.text) for c in reg)
    out: dict[str, Any] = {
        "part": part, "seed": PARTS[part],
        "registered": len(reg), "median_han": sizes[len(sizes) // 2],
        "negatives_ci": len(negatives) - len(shi), "negatives_shi": len(shi),
        "shipped": _evaluate(_engine(settings), works, queries, negatives),
    }
    if compare_with:
        with COMPARISONS[compare_with]() as old:
            out[compare_with] = _evaluate(old, works, queries, negatives)
    return out
