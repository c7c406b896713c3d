"""The lyrics engine: normalised n-gram hashes, background weighting, chain alignment.

Stages (``docs/lyrics.md``): text -> tokens (:mod:`.normalise`, :mod:`.tokens`) -> n-gram
hashes with a packed position column (:mod:`.hashing`) -> n-grams frequent in ordinary text
dropped, common ones weighted down (:mod:`.background`) -> candidate stage: exact look-up of
the hashes in the shared :class:`~tdmguard.index.HashIndex` -> alignment per candidate work
(:mod:`.align`) -> a :class:`~tdmguard.vocab.Match` with the character span in the document,
the line span in the lyrics, a score and the quoted text.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from tdmguard.errors import InputError, MediaError
from tdmguard.fingerprint.base import Fingerprint, HashLookup
from tdmguard.fingerprint.lyrics.align import Chain, align_words, best_chain, recover_tokens
from tdmguard.fingerprint.lyrics.background import BackgroundTable
from tdmguard.fingerprint.lyrics.hashing import (
    BASE,
    MAX_TOKEN,
    UNITS,
    WINDOW_UNITS,
    WORD_EVIDENCE,
    evidence_units,
    ngram_windows,
    pack_aux,
    unpack_aux,
    varied_windows,
    window_hashes,
    window_raw,
    word_keys,
)
from tdmguard.fingerprint.lyrics.normalise import TOKEN_PATTERN, TokenKind
from tdmguard.fingerprint.lyrics.reading import (
    TimedTextFormat,
    blank_timing,
    cut_near,
    decode_bytes,
    iter_text_chunks,
    sniff_format,
)
from tdmguard.fingerprint.lyrics.tokens import TokenEncoder
from tdmguard.vocab import Match, Modality

__all__ = ["Confidence", "LyricsDocument", "LyricsFingerprinter", "MatchSettings"]

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
F32 = npt.NDArray[np.float32]

# /2: CJK windows of 4 characters (were 8); /3: windows of 3 words (were 4), every
# occurrence of a repeated n-gram indexed, windows of one repeated token dropped; /4:
# contractions written out ("don't" -> "do not", normalise.CONTRACTIONS)
ENGINE = "lyrics-ngram3/4"
LAYOUT_PACKED = "packed"  # aux = token | line << 20 | span << 30 (hashing.pack_aux)
LAYOUT_POS = "pos"  # aux = token position only (texts of more than MAX_TOKEN tokens)
EXTRACT_MAX_BYTES = 32 << 20  # larger files: match_file streams them
CHUNK_CHARS = 1_000_000  # < MAX_TOKEN tokens per chunk whatever the script
OVERLAP_CHARS = 8192  # longer than any 8-line excerpt, so none is cut in two
QUOTE_CHARS = 300
REVIEW_SCORE_MAX = 0.5  # a review-level match scores at most this
BRIDGE_TOKENS = 2  # covered-words measure: gaps this short between matched runs count
ALIGN_REACH = 12  # word alignment: tokens looked at beyond each end of a chain
# word alignment: the weight of an aligned token that is not a space-separated word (a Han
# or kana character, a Thai letter) at most. The background table has no frequencies for
# these scripts, so each is taken as common: a single character is one of a few thousand,
# and a common one (之, 不, 人) next to a changed character matches by chance far more often
# than an English word does.
ALIGNED_CHARACTER_WEIGHT = 0.5


class Confidence(enum.StrEnum):
    """How much a lyrics match rests on (``Match.detail["confidence"]``): ``confident``
    (substantial, distinctive evidence) or ``review`` (thin or common evidence: a person
    should look; a scan never excludes nor keeps on it alone, ``scan/decide.py``)."""

    CONFIDENT = "confident"
    REVIEW = "review"


@dataclass(frozen=True, slots=True)
class MatchSettings:
    """Decision thresholds (``docs/lyrics.md``).

    A work is reported when a chain of at least ``min_ngrams`` n-grams of total background
    weight at least ``min_weight`` appears in order, with gaps of at most ``max_gap``
    tokens (or ``aligned_min_ngrams`` of weight ``aligned_min_weight`` on one diagonal:
    the windows either side of a substituted word), AND the chain covers document tokens
    worth at least ``min_words`` words (``hashing.EVIDENCE_UNITS``: a CJK character counts
    as a word, a Thai letter a quarter; tokens covered only by n-grams that are common in
    ordinary text count half), touching at least ``min_lines`` distinct lines of the
    registered lyric, or worth ``long_words`` words on fewer lines (lyrics registered as
    one line). Shorter overlaps are dropped.

    A reported match is :attr:`Confidence.CONFIDENT` when it is worth at least
    ``confident_words`` words and matches at least ``line_words`` words on each of at least
    ``confident_lines`` lyric lines (0: touches them) (or is worth ``long_words`` words on
    fewer) AND its
    rarity (mean background weight of its n-grams: 1 when none is common in ordinary text,
    0.5 when all are) is at least ``confident_rarity`` AND its density (the score: matched
    weight / weight of the document's n-grams in the span) is at least
    ``confident_density``; otherwise it is :attr:`Confidence.REVIEW`, with a score below
    1."""

    min_ngrams: int = 3
    min_weight: float = 3.0
    max_gap: int = 48
    # Two windows on one diagonal (query token - lyric token varying by at most
    # ``aligned_shift``: a substituted word that the normaliser splits in two) are as good
    # as three: a changed word breaks the three windows that hold it, and a two-line quote
    # of short lines keeps one window either side. Weight 1.5: at most one of the two is
    # common in ordinary text. Calibration half (even-numbered songs and unrelated
    # documents, seed 99): two lines with 10 % of words changed 0.953 -> 0.963 found,
    # unrelated documents matched unchanged (8 of 7,243; the two-window chains of unrelated
    # documents sat 5-39 tokens off their diagonal).
    aligned_min_ngrams: int = 2
    aligned_min_weight: float = 1.5
    aligned_shift: int = 1
    # Words of the lyric next to a chain, recovered as hashes from the index's n-grams
    # (align.recover_tokens) and aligned to the query's words with substitutions, one-word
    # insertions and deletions (align.align_words), count as matched words on their lyric
    # lines when the chain's own windows are not enough: a two-line quote with a word
    # changed on each line keeps its intact words on both lines, though the change leaves
    # them in no whole window. Only for a chain that passes the window floors above.
    align_words: bool = True
    align_min_score: float = 0.0
    # 5.5: a chain of three windows in a row covering 5 words (what a famous line crossing
    # a line break, a parody or a stock phrase looks like: "very, very good; and when",
    # "Last night I dreamed I") is not reported; six words are, or five and a common one.
    # Calibration half: unrelated documents matched at any level 8 -> 6 of 7,243 (0.111 %
    # -> 0.083 %), two lines with 10 % of words changed found 0.963 -> 0.950 (the 5-word
    # quotes were review, never confident).
    min_words: float = 5.5
    min_lines: int = 2
    long_words: float = 12.0
    # Every reported chain of ``min_words`` is confident unless one of the rules below
    # makes it review.
    confident_words: float = 5.5
    confident_lines: int = 2
    # A lyric line counts towards ``confident_lines`` when the chain matches at least this
    # many words of it (``_line_words``; a word whose line no window tells counts half on
    # either side). 0: every line the chain touches. 1.5 would make one lyric line quoted
    # with the next line's first word ("Now I lay me down to sleep / I") review; on the
    # calibration half that turned 1 unrelated document of 7,243 to review and 2-3 % of
    # two-line quotes with 10 % of words changed (English and Song ci alike: an edit on one
    # of two short lines leaves one line and one word) from confident to review, against
    # the recall target: not shipped (benchmarks/lyrics/RESULTS.md). The detail's
    # ``lines_matched`` counts lines with more than one word matched, for the reviewer.
    line_words: float = 0.0
    # A match most of whose n-grams are common in ordinary text (rarity < 0.75) is review;
    # no calibration query or unrelated document was near that line.
    confident_rarity: float = 0.75
    # ... and a chain whose matched weight is under 15 % of the weight of all the
    # document's n-grams in the span it covers (the score) is scattered hits across
    # unrelated text, review too: calibration quotes scored 0.40 or more (10 % edits; the
    # lowest 2 % under 0.5), the one unrelated document under 0.15 scored 0.06
    confident_density: float = 0.15


@dataclass(frozen=True, slots=True, eq=False)
class LyricsDocument(Fingerprint):
    """A lyrics fingerprint that also remembers its text, for spans and quotes.

    Only the :class:`Fingerprint` fields are serialised (the registry never stores the
    text). Per n-gram row, shape (n,) int32: ``first_raw``/``last_raw`` index the raw tokens
    (``TOKEN_PATTERN.findall(text)``) of the n-gram's first and last token; ``first_off``
    and ``last_end`` are character offsets within those raw tokens. ``char_base`` is the
    offset of ``text[0]`` in the whole document."""

    text: str = ""
    char_base: int = 0
    first_raw: I32 = field(default_factory=lambda: np.zeros(0, np.int32))
    first_off: I32 = field(default_factory=lambda: np.zeros(0, np.int32))
    last_raw: I32 = field(default_factory=lambda: np.zeros(0, np.int32))
    last_end: I32 = field(default_factory=lambda: np.zeros(0, np.int32))
    # per n-gram row: the token index of the window's last token; per token: the evidence
    # units (hashing.EVIDENCE_UNITS) of tokens 0..i (cumulative), to measure how much text
    # a chain covers
    last_tok: I32 = field(default_factory=lambda: np.zeros(0, np.int32))
    cum_units: I32 = field(default_factory=lambda: np.zeros(0, np.int32))
    # per token: its hash (hashing.token_hash) and window units (hashing.UNITS: its
    # kind), for the word alignment next to a chain
    tokens: U64 = field(default_factory=lambda: np.zeros(0, np.uint64))
    units: npt.NDArray[np.int8] = field(default_factory=lambda: np.zeros(0, np.int8))

    def char_span(self, first_row: int, last_row: int) -> tuple[int, int]:
        """Characters (in the whole document) from n-gram ``first_row``'s start to n-gram
        ``last_row``'s end."""
        wanted = {int(self.first_raw[first_row]), int(self.last_raw[last_row])}
        starts: dict[int, int] = {}
        for number, found in enumerate(TOKEN_PATTERN.finditer(self.text)):
            if number in wanted:
                starts[number] = found.start()
                if len(starts) == len(wanted):
                    break
        begin = starts[int(self.first_raw[first_row])] + int(self.first_off[first_row])
        end = starts[int(self.last_raw[last_row])] + int(self.last_end[last_row])
        return self.char_base + begin, self.char_base + end


def _decode_positions(aux: I32, layout: object) -> tuple[I64, I64, I64]:
    if layout == LAYOUT_POS:
        token = np.ascontiguousarray(aux[:, 0]).astype(np.int64)
        zero = np.zeros_like(token)
        return token, zero, zero
    return unpack_aux(np.ascontiguousarray(aux[:, 0]))


class LyricsFingerprinter:
    """Lyrics engine (``Fingerprinter`` protocol); no constructor arguments."""

    modality = Modality.LYRICS
    engine = ENGINE
    aux_width = 1

    def __init__(self) -> None:
        self.settings = MatchSettings()
        self._encoder = TokenEncoder()
        self._background = BackgroundTable.packaged()

    # -- fingerprints -----------------------------------------------------------------
    def fingerprint(
        self, text: str, *, dedup: bool = False, char_base: int = 0, line_base: int = 1,
        meta: Mapping[str, float | int | str] | None = None,
    ) -> LyricsDocument:
        """Fingerprint ``text`` (already decoded, timing blanked).

        ``dedup`` keeps each distinct n-gram once, at its first occurrence. Registered
        lyrics keep every occurrence (engine ``/3``): a quote of a chorus's later
        occurrence with the line before it must chain in order, which it cannot when only
        the first occurrence is indexed. N-grams of one repeated token are dropped
        (:func:`~.hashing.varied_windows`)."""
        toks = self._encoder.encode(text)
        start, end = ngram_windows(toks.units)
        keys = window_hashes(toks.hashes, start, end)
        keep = (self._background.weights(keys) > 0) & varied_windows(toks.hashes, start, end)
        rows = np.flatnonzero(keep)
        if dedup and rows.shape[0]:
            _, first = np.unique(keys[rows], return_index=True)
            rows = rows[np.sort(first)]
        s, e = start[rows], end[rows]
        line_s = toks.line[s] + (line_base - 1)
        line_e = toks.line[e] + (line_base - 1)
        layout = LAYOUT_PACKED if len(toks) <= MAX_TOKEN else LAYOUT_POS
        if layout == LAYOUT_PACKED:
            aux = pack_aux(s, line_s, line_e - line_s)
        else:
            aux = s.astype(np.int32)
        info: dict[str, float | int | str] = {
            "tokens": len(toks),
            "ngrams": int(rows.shape[0]),
            "lines": text.count("\n") + 1,
            "layout": layout,
            "window_units": WINDOW_UNITS,
        }
        info.update(meta or {})
        first_off, _ = self._encoder.char_offsets(toks.sub[s])
        last_off, last_len = self._encoder.char_offsets(toks.sub[e])
        return LyricsDocument(
            modality=Modality.LYRICS,
            engine=ENGINE,
            keys=np.ascontiguousarray(keys[rows], dtype=np.uint64),
            aux=aux.reshape(-1, 1),
            meta=MappingProxyType(info),
            text=text,
            char_base=char_base,
            first_raw=toks.raw_index[s].astype(np.int32),
            first_off=first_off,
            last_raw=toks.raw_index[e].astype(np.int32),
            last_end=(last_off + last_len).astype(np.int32),
            last_tok=e.astype(np.int32),
            cum_units=np.cumsum(evidence_units(toks.units), dtype=np.int32),
            tokens=toks.hashes,
            units=toks.units,
        )

    def extract_text(self, text: str, *, where: str) -> LyricsDocument:
        """Fingerprint inline text (a JSONL/Parquet field; ``where`` names it)."""
        if not isinstance(text, str):
            raise InputError(f"expected text, got {type(text).__name__}", where=where)
        if len(text) > EXTRACT_MAX_BYTES:
            raise InputError(
                f"text of {len(text):,} characters is too long to fingerprint at once "
                "(use match_text, which works in chunks)", where=where)
        fmt = sniff_format("", text[:4096])
        return self.fingerprint(blank_timing(text, fmt), meta={"format": fmt.value})

    def extract(self, path: Path) -> LyricsDocument:
        """Fingerprint a plain text, LRC or SRT/WebVTT file (timestamps blanked).

        Raises :class:`MediaError` naming the file for unreadable, binary or too large
        files (``match_file`` streams files of any size)."""
        where = str(path)
        try:
            size = path.stat().st_size
            if size > EXTRACT_MAX_BYTES:
                raise MediaError(
                    f"{size:,} bytes is more than the {EXTRACT_MAX_BYTES:,} a fingerprint "
                    "holds; match_file streams large files", where=where)
            data = path.read_bytes()
        except OSError as exc:
            raise MediaError(f"cannot read ({exc.strerror or exc})", where=where) from exc
        text, encoding = decode_bytes(data, where=where)
        fmt = sniff_format(path.name, text[:4096])
        meta: dict[str, float | int | str] = {"format": fmt.value, "encoding": encoding}
        if "\ufffd" in text:
            meta["decode_errors"] = text.count("\ufffd")
        return self.fingerprint(blank_timing(text, fmt), meta=meta)

    # -- matching ---------------------------------------------------------------------
    def match(self, query: Fingerprint, index: Any) -> list[Match]:
        """Matches of the works of ``index`` (a :class:`HashLookup`) in ``query``,
        best first: at most one per work (its best-aligned occurrence)."""
        # duck-typed: isinstance() on a runtime Protocol costs ~30 us, per document
        if not callable(getattr(index, "lookup", None)):
            raise InputError("the lyrics engine needs a hash index", where="index")
        if query.engine != self.engine:
            raise InputError(
                f"fingerprint made by {query.engine}, this engine is {self.engine}: "
                "fingerprint the text again", where="query")
        if query.keys.shape[0] == 0:
            return []
        # sorted look-up keys make the index's binary searches walk memory forwards
        # (about 2.5x faster); hit rows are mapped back to the query's own order
        order_keys = np.argsort(query.keys)
        hits = index.lookup(query.keys[order_keys])
        if hits.query_row.shape[0] == 0:
            return []
        hit_rows = order_keys[hits.query_row]
        settings = self.settings
        counts = np.bincount(hits.work)
        candidates = np.flatnonzero(
            counts >= min(settings.min_ngrams, settings.aligned_min_ngrams))
        if candidates.shape[0] == 0:
            return []
        q_tok_all, _, _ = _decode_positions(query.aux, query.meta.get("layout"))
        order = np.argsort(hits.work, kind="stable")
        bounds = np.searchsorted(hits.work[order], candidates)
        out: list[tuple[float, Match]] = []
        for work, lo in zip(candidates.tolist(), bounds.tolist(), strict=True):
            sel = order[lo : lo + int(counts[work])]
            rows = hit_rows[sel]
            r_tok, r_line, r_span = _decode_positions(
                hits.aux[sel], index.work_meta(work).get("layout"))
            weights = self._background.weights(query.keys[rows])
            chain = best_chain(q_tok_all[rows], r_tok, weights, max_gap=settings.max_gap,
                               length=_window_tokens(query, q_tok_all, rows))
            picked = rows[chain.hits]
            if not _enough_windows(chain, q_tok_all[picked] - r_tok[chain.hits], settings):
                continue
            layout = index.work_meta(work).get("layout")
            words = _covered_words(query, q_tok_all, picked, weights[chain.hits])
            per_line = _line_words(query, q_tok_all, picked, r_tok[chain.hits],
                                   r_line[chain.hits], r_span[chain.hits], layout)
            aligned = 0
            if settings.align_words and not self._enough_evidence(words, per_line):
                extra = _aligned_words(query, index, work, q_tok_all, picked, r_tok[chain.hits],
                                       settings.align_min_score)
                weighed = self._weigh_words(query, extra) if extra is not None else None
                if weighed is not None and weighed[0].shape[0]:
                    aligned = int(weighed[0].shape[0])
                    words = _covered_words(query, q_tok_all, picked, weights[chain.hits],
                                           weighed[0], weighed[3])
                    per_line = _line_words(query, q_tok_all, picked, r_tok[chain.hits],
                                           r_line[chain.hits], r_span[chain.hits], layout,
                                           weighed)
            touched = len(per_line)
            if words < settings.min_words or (
                    touched < settings.min_lines and words < settings.long_words):
                continue
            rarity = chain.weight / len(chain)
            found = self._to_match(query, index, work, picked, chain.weight,
                                   q_tok_all, r_line[chain.hits], r_span[chain.hits],
                                   words, rarity, per_line, aligned)
            out.append((chain.weight, found))
        out.sort(key=lambda pair: (-pair[1].score, -pair[0]))
        return [m for _, m in out]

    def _to_match(
        self, query: Fingerprint, index: HashLookup, work: int, rows: I64, weight: float,
        q_tok_all: I64, r_line: I64, r_span: I64, words: float, rarity: float,
        per_line: list[float], aligned: int = 0,
    ) -> Match:
        first, last = int(rows[0]), int(rows[-1])
        in_span = (q_tok_all >= q_tok_all[first]) & (q_tok_all <= q_tok_all[last])
        span_weight = float(self._background.weights(query.keys[in_span]).sum())
        meta = index.work_meta(work)
        ref_ngrams = int(meta.get("ngrams", 0) or 0)
        detail: dict[str, object] = {
            "ngrams": int(rows.shape[0]),
            "weight": round(weight, 2),
            "ref_coverage": round(rows.shape[0] / ref_ngrams, 4) if ref_ngrams else 0.0,
            "words": round(words, 1),
            "lines": len(per_line),
            "lines_matched": sum(w > 1.0 for w in per_line),
            "rarity": round(rarity, 3),
        }
        if aligned:
            detail["aligned_words"] = aligned
        score = min(1.0, weight / span_weight) if span_weight > 0 else 0.0
        lines = sum(w >= self.settings.line_words for w in per_line)
        confidence = self.confidence(words, lines, rarity, score)
        detail["confidence"] = confidence.value
        ref_start = float(r_line.min()) if r_line.shape[0] else 0.0
        ref_end = float((r_line + r_span).max()) if r_line.shape[0] else 0.0
        if isinstance(query, LyricsDocument) and query.text:
            q_start, q_end = query.char_span(first, last)
            local = query.text[q_start - query.char_base : q_end - query.char_base]
            quote = " ".join(local.split())
            detail["quote"] = quote if len(quote) <= QUOTE_CHARS else quote[:QUOTE_CHARS] + "…"
        else:
            q_start, q_end = int(q_tok_all[first]), int(q_tok_all[last])
            detail["query_unit"] = "token"
        if confidence is Confidence.REVIEW:
            score = _review_score(score, words, rarity, self.settings)
        return Match(
            work_id=index_work_id(index, work),
            modality=Modality.LYRICS,
            score=score,
            query_start=float(q_start),
            query_end=float(q_end),
            ref_start=ref_start,
            ref_end=ref_end,
            detail=MappingProxyType(detail),
        )

    def _weigh_words(self, query: Fingerprint, extra: tuple[I64, I64, I64]
                     ) -> tuple[I64, I64, I64, F32]:
        """Aligned words with their background weight (``hashing.word_keys``: 0 for a
        function word, which matches by chance next to a changed word, 0.5 for a common
        word, 1 otherwise; a character of a script without spaces at most
        :data:`ALIGNED_CHARACTER_WEIGHT`); words of weight 0 left out."""
        q, r, line = extra
        assert isinstance(query, LyricsDocument)
        w = self._background.weights(word_keys(query.tokens[q]))
        if query.units.shape[0] == query.tokens.shape[0]:
            w = np.where(query.units[q] != UNITS[TokenKind.WORD],
                         np.minimum(w, ALIGNED_CHARACTER_WEIGHT), w).astype(np.float32)
        keep = w > 0
        return q[keep], r[keep], line[keep], w[keep]

    def _enough_evidence(self, words: float, per_line: list[float]) -> bool:
        """Whether a chain's own windows already give a confident match's words and
        lines (then the word alignment is not needed)."""
        settings = self.settings
        lines = sum(w >= settings.line_words for w in per_line)
        return words >= settings.confident_words and (
            lines >= settings.confident_lines or words >= settings.long_words)

    def confidence(self, words: float, lines: int, rarity: float,
                   density: float = 1.0) -> Confidence:
        """The confidence of a reported match worth ``words`` words over ``lines`` lyric
        lines with mean background weight ``rarity`` and ``density`` (its score before
        grading) (:class:`MatchSettings`)."""
        settings = self.settings
        if (words >= settings.confident_words and rarity >= settings.confident_rarity
                and density >= settings.confident_density
                and (lines >= settings.confident_lines or words >= settings.long_words)):
            return Confidence.CONFIDENT
        return Confidence.REVIEW

    def match_text(self, text: str, index: HashLookup, *, where: str = "text") -> list[Match]:
        """Match inline text of any length, chunk by chunk (bounded memory)."""
        if not isinstance(text, str):
            raise InputError(f"expected text, got {type(text).__name__}", where=where)
        fmt = sniff_format("", text[:4096])
        return self._match_chunks(_string_chunks(text, fmt), index)

    def match_file(self, path: Path, index: HashLookup) -> list[Match]:
        """Match a text/LRC/SRT file of any size, streamed in chunks (bounded memory)."""
        chunks = (
            (c.text, c.char_base, c.line_base)
            for c in iter_text_chunks(path, chunk_chars=CHUNK_CHARS, overlap_chars=OVERLAP_CHARS)
        )
        return self._match_chunks(chunks, index)

    def _match_chunks(
        self, chunks: Iterator[tuple[str, int, int]], index: HashLookup
    ) -> list[Match]:
        best: dict[str, Match] = {}
        for text, char_base, line_base in chunks:
            doc = self.fingerprint(text, dedup=False, char_base=char_base, line_base=line_base)
            for found in self.match(doc, index):
                held = best.get(found.work_id)
                if held is None or _strength(found) > _strength(held):
                    best[found.work_id] = found
        return sorted(best.values(), key=lambda m: -m.score)


def _window_tokens(query: Fingerprint, q_tok_all: I64, rows: I64) -> I64:
    """Tokens of each n-gram ``rows`` of the query (a deserialised query: word windows)."""
    if isinstance(query, LyricsDocument) and query.last_tok.shape[0] == q_tok_all.shape[0]:
        return query.last_tok[rows].astype(np.int64) - q_tok_all[rows] + 1
    return np.full(rows.shape[0], WINDOW_UNITS // UNITS[TokenKind.WORD], np.int64)


def _covered_words(query: Fingerprint, q_tok_all: I64, rows: I64, weights: F32,
                   aligned: I64 | None = None, aligned_weights: F32 | None = None) -> float:
    """Words' worth of document text covered by the n-grams ``rows`` (in query order):
    the union of their token windows in evidence units / ``WORD_EVIDENCE``, where tokens
    covered only by n-grams of background weight < 1 count at that weight. ``aligned``:
    query tokens matched by the word alignment outside those windows, of background weight
    ``aligned_weights`` (default 1). A
    deserialised query (no token data) is taken as words: windows of three tokens."""
    start = q_tok_all[rows]
    if isinstance(query, LyricsDocument) and query.last_tok.shape[0] == q_tok_all.shape[0]:
        end = query.last_tok[rows].astype(np.int64)
        cum = query.cum_units.astype(np.int64)
    else:
        end = start + (WINDOW_UNITS // UNITS[TokenKind.WORD] - 1)
        cum = np.arange(1, int(end.max()) + 2, dtype=np.int64) * WORD_EVIDENCE
    if aligned is not None and aligned.shape[0]:
        start = np.concatenate([start, aligned])
        end = np.concatenate([end, aligned])
        weights = np.concatenate([weights, np.ones(aligned.shape[0], np.float32)
                                  if aligned_weights is None else aligned_weights])
    full = _union_units(start, end, cum, weights >= 1.0)
    every = _union_units(start, end, cum, np.ones(start.shape[0], np.bool_))
    part = float(weights[weights < 1.0].max()) if bool((weights < 1.0).any()) else 0.0
    return (full + part * (every - full)) / WORD_EVIDENCE


def _union_units(start: I64, end: I64, cum: I64, keep: npt.NDArray[np.bool_]) -> float:
    """Window units of the union of token intervals [start, end] (inclusive) where
    ``keep``; ``cum[i]`` is the units of tokens 0..i."""
    s, e = start[keep], end[keep]
    if s.shape[0] == 0:
        return 0.0
    order = np.argsort(s, kind="stable")
    s, e = s[order], e[order]
    reach = np.maximum.accumulate(e)
    # each interval adds the tokens past everything before it, and a gap of at most
    # BRIDGE_TOKENS tokens from the previous one (a substituted word between two matched
    # runs is part of the quote)
    lo = s.copy()
    prev = reach[:-1] + 1
    lo[1:] = np.where(s[1:] - prev <= BRIDGE_TOKENS, prev, s[1:])
    add = np.where(e >= lo, cum[e] - np.where(lo > 0, cum[np.maximum(lo - 1, 0)], 0), 0)
    return float(add.sum())


def _line_words(query: Fingerprint, q_tok_all: I64, rows: I64, r_tok: I64, r_line: I64,
                r_span: I64, layout: object,
                aligned: tuple[I64, I64, I64, F32] | None = None) -> list[float]:
    """Per line of the registered lyric that the chain's n-grams (query ``rows``, reference
    tokens ``r_tok``) touch, the words' worth of tokens they match on it
    (``hashing.EVIDENCE_UNITS``); a lyric stored without line numbers (layout ``pos``)
    counts as many lines of many words.

    Each reference token's line is known at a window's first token (``r_line``), at its
    last token (``r_line + r_span``), and at every token of a window that spans no line
    break; a token inside a window that spans a break, which no other window places,
    counts half on the window's first line and half on its last. So a phrase that crosses
    a line break by one word ("Now I lay me down to sleep / I") touches two lines and
    holds one word of the second. ``aligned``: (query token, lyric token, lyric line,
    background weight) of the words the word alignment matched outside the chain's windows
    (line -1: unknown); each counts at its weight."""
    if layout == LAYOUT_POS:
        return [float(1 << 20)] * 2
    if r_line.shape[0] == 0:
        return []
    length = _window_tokens(query, q_tok_all, rows)
    units = None
    if isinstance(query, LyricsDocument) and query.cum_units.shape[0]:
        units = np.diff(query.cum_units.astype(np.int64), prepend=0)
    placed: dict[int, int] = {}
    for r, n, line, span in zip(r_tok.tolist(), length.tolist(), r_line.tolist(),
                                np.clip(r_span, 0, 3).tolist(), strict=True):
        placed[r] = line
        placed[r + n - 1] = line + span
        if span == 0:
            for k in range(1, n - 1):
                placed[r + k] = line
    amount: dict[int, float] = {}
    counted: set[int] = set()
    for q, r, n, line, span in zip(q_tok_all[rows].tolist(), r_tok.tolist(), length.tolist(),
                                   r_line.tolist(), np.clip(r_span, 0, 3).tolist(),
                                   strict=True):
        for k in range(n):
            if r + k in counted:
                continue
            counted.add(r + k)
            unit = float(units[q + k]) if units is not None and q + k < units.shape[0] else (
                float(WORD_EVIDENCE))
            at = placed.get(r + k)
            if at is None:  # inside a window across a break: either side
                amount[line] = amount.get(line, 0.0) + unit / 2
                amount[line + span] = amount.get(line + span, 0.0) + unit / 2
            else:
                amount[at] = amount.get(at, 0.0) + unit
    if aligned is not None:
        for q, r, line, weight in zip(*(a.tolist() for a in aligned), strict=True):
            if r in counted or line < 0:
                continue
            counted.add(r)
            unit = float(units[q]) if units is not None and q < units.shape[0] else (
                float(WORD_EVIDENCE))
            amount[line] = amount.get(line, 0.0) + unit * weight
    return [total / WORD_EVIDENCE for total in amount.values()]


def _aligned_words(query: Fingerprint, index: Any, work: int, q_tok_all: I64, rows: I64,
                   r_tok: I64, min_score: float = 0.0) -> tuple[I64, I64, I64] | None:
    """Query words matched to the lyric's words by the word alignment outside the chain's
    windows (``rows``: the chain's query n-grams, ``r_tok``: their lyric tokens), as
    (query token, lyric token, lyric line; -1 unknown) arrays; ``None`` when it cannot run
    (a deserialised query, an index without ``work_rows``, windows of varying width, a
    lyric stored without line numbers).

    The lyric's token hashes around the chain are recovered from its n-grams in the index
    (:func:`~.align.recover_tokens`, starting from the chain's windows, whose tokens the
    query tells); the query's words are then aligned to them (:func:`~.align.align_words`)
    before the chain, between its windows and after it, up to :data:`ALIGN_REACH` tokens
    beyond each end."""
    work_rows = getattr(index, "work_rows", None)
    if (not isinstance(query, LyricsDocument) or not query.tokens.shape[0]
            or not callable(work_rows) or index.work_meta(work).get("layout") == LAYOUT_POS):
        return None
    length = _window_tokens(query, q_tok_all, rows)
    width = int(length[0])
    if bool((length != width).any()):
        return None
    q_start = q_tok_all[rows]
    tokens = query.tokens
    known: dict[int, int] = {}
    for q, r in zip(q_start.tolist(), r_tok.tolist(), strict=True):
        for k in range(width):
            known[r + k] = int(tokens[q + k])
    lo = int(r_tok.min()) - ALIGN_REACH
    hi = int(r_tok.max()) + width - 1 + ALIGN_REACH
    keys, aux = work_rows(work)
    s_all, line_all, span_all = unpack_aux(np.ascontiguousarray(aux[:, 0]))
    near = (s_all > lo - width) & (s_all <= hi)
    s_near, line_near, span_near = s_all[near], line_all[near], span_all[near]
    raw = window_raw(keys[near], width)
    raw_at = dict(zip(s_near.tolist(), (int(v) for v in raw), strict=True))
    lyric = recover_tokens(known, raw_at, width, lo, hi, BASE)
    line_at: dict[int, int] = {}
    for st, line, span in zip(s_near.tolist(), line_near.tolist(), span_near.tolist(),
                              strict=True):
        line_at[st] = line
        line_at[st + width - 1] = line + span
        if span == 0:
            for k in range(1, width - 1):
                line_at[st + k] = line
    # anchors: the chain's windows in order; align before, between and after them
    pairs: list[tuple[int, int]] = []
    n_tok = tokens.shape[0]
    first_q, first_r = int(q_start[0]), int(r_tok[0])
    back = align_words(
        [int(t) for t in tokens[max(0, first_q - ALIGN_REACH):first_q][::-1]],
        [lyric.get(r) for r in range(first_r - 1, max(lo, first_r - ALIGN_REACH) - 1, -1)],
        anchored_end=False, min_score=min_score)
    pairs.extend((first_q - 1 - i, first_r - 1 - j) for i, j in back)
    for a in range(len(q_start) - 1):
        q_end, r_end = int(q_start[a]) + width, int(r_tok[a]) + width
        q_next, r_next = int(q_start[a + 1]), int(r_tok[a + 1])
        if q_next <= q_end or r_next <= r_end:
            continue
        mid = align_words([int(t) for t in tokens[q_end:q_next]],
                          [lyric.get(r) for r in range(r_end, r_next)], anchored_end=True)
        pairs.extend((q_end + i, r_end + j) for i, j in mid)
    last_q, last_r = int(q_start[-1]) + width, int(r_tok[-1]) + width
    ahead = align_words(
        [int(t) for t in tokens[last_q:min(n_tok, last_q + ALIGN_REACH)]],
        [lyric.get(r) for r in range(last_r, min(hi, last_r + ALIGN_REACH - 1) + 1)],
        anchored_end=False, min_score=min_score)
    pairs.extend((last_q + i, last_r + j) for i, j in ahead)
    if not pairs:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    q_arr = np.array([p[0] for p in pairs], np.int64)
    r_arr = np.array([p[1] for p in pairs], np.int64)
    lines = np.array([line_at.get(r, -1) for r in r_arr.tolist()], np.int64)
    return q_arr, r_arr, lines


def _enough_windows(chain: Chain, shift: I64, settings: MatchSettings) -> bool:
    """Whether ``chain`` holds enough n-grams to be a match: ``min_ngrams`` of total weight
    ``min_weight``, or ``aligned_min_ngrams`` of weight ``aligned_min_weight`` on one
    diagonal (query token - lyric token ``shift`` varying by at most ``aligned_shift``).

    A substituted word breaks every window that holds it (three in a row): a two-line quote
    of short lines with one word changed keeps two windows, one either side of the edit, at
    the same offset in the query and the lyric. Two such windows aligned are the same
    evidence as three overlapping ones; two windows at different offsets (text inserted
    between them) are not."""
    if len(chain) >= settings.min_ngrams and chain.weight >= settings.min_weight:
        return True
    return (len(chain) >= settings.aligned_min_ngrams
            and chain.weight >= settings.aligned_min_weight
            and int(shift.max() - shift.min()) <= settings.aligned_shift)


def _review_score(score: float, words: float, rarity: float, settings: MatchSettings) -> float:
    """The score of a review-level match: below 1 (at most :data:`REVIEW_SCORE_MAX`), lower
    the thinner and commoner its evidence, so it never reads as a certain match."""
    evidence = min(1.0, words / settings.confident_words) if settings.confident_words else 1.0
    return round(min(REVIEW_SCORE_MAX, score * evidence * rarity * REVIEW_SCORE_MAX), 4)


def _strength(found: Match) -> tuple[bool, float]:
    """Which of two matches of one work (in two chunks) to keep: a confident one, then
    the heavier."""
    weight = found.detail.get("weight", 0.0)
    confident = found.detail.get("confidence") == Confidence.CONFIDENT.value
    return confident, float(weight) if isinstance(weight, int | float) else 0.0


def index_work_id(index: HashLookup, work: int) -> str:
    """Work id of dense work number ``work`` (indexes expose ``work_ids``)."""
    ids = getattr(index, "work_ids", None)
    if ids is None:
        raise InputError("the index does not expose work ids", where="index")
    return str(ids[work])


def _string_chunks(text: str, fmt: TimedTextFormat) -> Iterator[tuple[str, int, int]]:
    """(chunk, char_base, line_base) over ``text`` with :data:`OVERLAP_CHARS` overlap."""
    if len(text) <= CHUNK_CHARS:
        yield blank_timing(text, fmt), 0, 1
        return
    base = 0
    line_base = 1
    while True:
        stop = len(text) if len(text) - base <= CHUNK_CHARS else cut_near(text, base + CHUNK_CHARS)
        if stop <= base:
            stop = min(len(text), base + CHUNK_CHARS)
        yield blank_timing(text[base:stop], fmt), base, line_base
        if stop >= len(text):
            return
        nxt = max(base + 1, cut_near(text, stop - OVERLAP_CHARS))
        line_base += text.count("\n", base, nxt)
        base = nxt
