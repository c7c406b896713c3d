"""The melody engine: extract interval/rhythm n-grams, vote with rarity weights, verify by
local alignment.

Matching (anchors.md section 4) runs in three stages:

1. **Look-up**: every query n-gram key is looked up in the index; keys with more than
   ``max_hits_per_key`` hits are stop-grams and dropped.
2. **Rarity-weighted votes**: each work scores the sum, over the distinct query n-grams it
   holds, of their inverse document frequency in the background corpus
   (:mod:`.background`); the ``candidates`` best works go on (and ``more_candidates`` more
   where none of those is reported: 0 as shipped, measured in issue 14's seventh session).
3. **Alignment**: within a candidate, hits of one (query line, reference line) pair are
   clustered by diagonal (reference position - query position, tolerant to a few inserted or
   deleted notes); for the best clusters the reference tokens around the hits are rebuilt
   from the context stored with each hit and aligned to the query by Smith-Waterman.
   Aligned tokens gain their rarity weight (a token inside rare n-grams counts more), a token
   with the right interval but another rhythm class, or a rhythm with an interval off by one
   or two semitones, gains part of it; a substituted note (two intervals changed, their sum
   and rhythm kept) gains part of the pair's weight; mismatches and gaps cost. A second,
   rhythm-free alignment (pitch intervals alone) scores another setting of the tune:
   re-barred, in another metre, with other note values.

Decision (``MelodyFingerprinter.decide``): a candidate is a match when either

- its raw alignment score (in weighted tokens) reaches ``threshold(query tokens)``: the
  absolute rule, which rises with the query line's length; or
- its rhythm-free score reaches that threshold plus ``rhythm_free_margin`` (intervals alone
  carry less evidence per note; a 16-note excerpt never reaches it); or
- its *significance* reaches ``significance_threshold`` (and the raw score
  ``significance_floor``): the score as a share of the query line's own maximum (the sum of
  its token weights: what an exact copy scores), plus ``significance_margin`` times its lead
  over the best other work (a work scoring exactly as much, the same passage registered
  twice, does not count: ``runner_ups``), also as a share of that maximum, when at least
  ``significance_others`` other works were aligned (the other candidates are the query's own
  background: a copied excerpt stands out of them, a chance alignment does not; with fewer,
  in a small index, the share alone counts), plus ``vote_share_weight`` times the share of
  the query line's own n-gram vote (``self_votes``) that the work holds exactly. A copy with
  a few edited notes keeps most of its own maximum even when its raw score is low because
  the excerpt is made of common formulae, and keeps some of its source's rare n-grams intact;
  an unrelated tune one or two notes farther away aligns nearly as well by partial credits
  (other rhythm, neighbouring interval, substituted note) but shares few exact n-grams.
  Optionally (``exact_weight``, 0 as shipped: measured, it trades 0-edit false matches for
  2-edit recall) plus that weight times the *exact-token* score as a share of the same
  maximum: the best alignment crediting only tokens equal in interval and rhythm class.

The reported score maps both to (0, 1) with 0.5 at either threshold and takes the larger.
All constants were fitted by ``benchmarks/melody`` on a calibration draw that the reported
figures leave out (see docs/melody.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from tdmguard.errors import InputError
from tdmguard.fingerprint.base import Fingerprint, HashLookup
from tdmguard.fingerprint.melody.alignment import smith_waterman
from tdmguard.fingerprint.melody.background import BackgroundTable, default_background
from tdmguard.fingerprint.melody.encoding import (
    AUX_WIDTH,
    CONTEXT_BEFORE,
    CONTEXT_LEN,
    N,
    code_parts,
    encode_lines,
    is_interval_key,
    unpack_context,
)
from tdmguard.fingerprint.melody.notes import NoteLine, read_note_lines
from tdmguard.vocab import Match, Modality

__all__ = [
    "MelodyCandidate",
    "MelodyFingerprinter",
    "MelodySettings",
    "runner_ups",
    "with_others",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]

ENGINE = "melody-ngram-align/2"  # /2: rhythm-free interval keys (re-register /1 works)


@dataclass(frozen=True, slots=True)
class MelodySettings:
    """Tuned settings (``benchmarks/melody``); the engine takes no arguments, tests may."""

    max_keys: int = 100_000  # n-grams per fingerprint (bounds memory on huge scores)
    max_hits_per_key: int = 5_000  # stop-gram cut-off
    candidates: int = 12  # works verified by alignment
    # Where none of those is reported, this many more (next by votes) are aligned: a copy
    # with edited notes loses most of its n-grams, and works sharing common ones can outvote
    # it at the candidate stage (0: never). Measured, off (issue 14, seventh session;
    # benchmarks/melody/RESULTS.md): 12 more raised held-out 2-edit recall 0.924 -> 0.929 at
    # the same false matches, for +42 % CPU per 16-note excerpt.
    more_candidates: int = 0
    clusters_per_work: int = 2
    band: int = 4  # diagonal tolerance (inserted/deleted notes) inside one cluster
    max_window: int = 512  # tokens aligned per side
    idf_unit_bits: float = 8.0  # rarity weight 1.0 = an n-gram this rare
    weight_power: float = 1.0
    min_weight: float = 0.15
    max_weight: float = 2.0
    partial_rhythm: float = 0.45  # same interval, other rhythm class
    partial_pitch: float = 0.2  # same rhythm class, interval off by 1-2 semitones
    merge_gain: float = 0.5  # fragmentation / consolidation (note inserted / deleted)
    # A note substituted changes the two intervals around it but not their sum (nor the
    # rhythm): such a pair of tokens gains this share of its weight (0 disables the move).
    subst_gain: float = 0.5
    # A note inserted in a copy (a note split in two, an added passing note) replaces one
    # reference token by two whose intervals sum to it, *and* changes the rhythm class of
    # the token before it (its next inter-onset interval is shorter); a note deleted does
    # the converse. The rhythm classes of the tokens involved still sum to the reference's
    # (+- ``note_move_tolerance``: classes are rounded), so these moves align three query
    # tokens with two reference tokens (inserted) or two with three (deleted), crediting
    # the unchanged interval fully and the merged pair this share of its weight (0: off).
    # Measured, off (issue 14, eighth session; benchmarks/melody/RESULTS.md): at 0.5 with
    # tolerance 0 and the thresholds refitted on calibration (raw 17.0, significance 0.825)
    # held-out 2-edit recall 0.924 -> 0.931 (32 excerpts gained, 22 lost of 1,500: not
    # significant), 0-edit false matches 8 -> 6, but edited tune-family relatives matched
    # more and chorale settings rhythm-changed 0.940 -> 0.930 (folk versions on top).
    note_move_gain: float = 0.0
    note_move_tolerance: int = 0
    mismatch: float = 1.0
    unknown: float = 0.3  # reference token not rebuilt from the hits' contexts
    gap: float = 1.0
    divergence: float = 0.5  # cost per weighted token where query and reference diverge
    divergence_tokens: int = 8
    threshold_raw: float = 15.9  # for a 16-note query (15 tokens)
    # Longer queries have more chances of a chance alignment (the expected best local score
    # grows with the log of the sequence lengths): the threshold rises by this much per
    # doubling of the query line beyond 15 tokens (fitted on whole held-out works).
    threshold_per_doubling: float = 8.0
    scale_raw: float = 1.0
    # Rhythm-free interval keys (encoding.interval_keys): found candidates whose rhythm
    # differs (another setting, re-barred); their vote counts this share of the rarity of
    # the interval/rhythm n-gram at the same query position.
    rhythm_free: bool = True
    rhythm_free_vote: float = 0.5
    rhythm_free_max_hits: int = 500  # stop-gram cut-off of those (scale runs are common)
    # Rhythm-free alignment (pitch intervals alone; another setting of the tune, re-barred,
    # with other note values): a match when its score exceeds the absolute threshold by
    # this margin (intervals alone carry less evidence per note than intervals and rhythm).
    rhythm_free_margin: float = 5.0
    # Per-query significance (module docstring), fitted on held-aside excerpts of 16 notes.
    significance_threshold: float = 0.80  # 1.03 with exact_weight 0.6 (measured, off)
    significance_margin: float = 0.15
    significance_others: int = 3
    # Exact shared n-grams: the candidate's vote as a share of the query line's own vote
    # (``self_votes``: what an exact copy gets) adds this weight times that share.
    vote_share_weight: float = 0.15
    # Exact tokens: the best local alignment crediting only tokens equal in interval *and*
    # rhythm class (no partial credits, no merged or substituted notes), as a share of the
    # query line's own maximum, adds this weight times that share (0: not computed).
    # Measured, off (sixth session, issue 14; benchmarks/melody/RESULTS.md): fitted on the
    # Essen calibration draw (0.6, threshold 1.03) it raised 2-edit recall 0.932 -> 0.948 on
    # the report draws but 0-edit false matches 0.62 -> 0.77 % (2,733 unrelated excerpts),
    # losing FP <= 1 % at 95 % confidence, and costs one more alignment per work.
    exact_weight: float = 0.0
    exact_always: bool = False  # compute it even at weight 0 (benchmarks refit the weight)
    significance_floor: float = 10.0
    significance_scale: float = 0.03


@dataclass(frozen=True, slots=True)
class MelodyCandidate:
    """An aligned candidate before thresholding. Spans are half-open note indices of the
    query line ``query_line`` and the reference line ``ref_line``; ``votes`` is the
    rarity-weighted n-gram vote (bits) of stage 2, ``raw`` the alignment score."""

    work: int
    work_id: str
    raw: float
    votes: float
    query_line: int
    ref_line: int
    query_start: int
    query_end: int
    ref_start: int
    ref_end: int
    query_tokens: int  # length of the query line in tokens (notes - 1)
    self_max: float = 0.0  # raw score of an exact copy of the query line
    runner_up: float = 0.0  # raw score of the best other work not tied with this one (0: none)
    others: int = 0  # other works aligned for this query
    free_raw: float = 0.0  # rhythm-free alignment score (pitch intervals only)
    self_votes: float = 0.0  # vote of an exact copy of the query line (its keys' rarity)
    exact: float = 0.0  # alignment score of exactly equal tokens alone (``exact_weight``)


TIE = 1e-6  # raw scores this close are the same alignment (one passage in two works)


def runner_ups(raws: list[float], work_ids: list[str]) -> list[tuple[float, int]]:
    """(runner-up, others) of each aligned candidate: the best raw score of another work
    and how many other works were aligned (a work id listed twice, in two segments, is one
    work). A work that scores *exactly* as much is left out of the runner-up: the same
    passage registered in two works (one tune printed in two collections) is no evidence
    against either, and measuring the lead against it would make a copy of a passage
    registered twice never significant."""
    out: list[tuple[float, int]] = []
    for raw, wid in zip(raws, work_ids, strict=True):
        others = [o for o, w in zip(raws, work_ids, strict=True) if w != wid]
        apart = [o for o in others if abs(o - raw) > TIE]
        out.append((max(apart, default=0.0), len(others)))
    return out


def with_others(cands: list[MelodyCandidate]) -> list[MelodyCandidate]:
    """The candidates with their runner-up and count of other works filled in."""
    ups = runner_ups([c.raw for c in cands], [c.work_id for c in cands])
    return [replace(c, runner_up=up, others=n) for c, (up, n) in zip(cands, ups, strict=True)]


@dataclass(slots=True)
class MelodyFingerprinter:
    """Engine for :attr:`Modality.MELODY` (see the module docstring)."""

    settings: MelodySettings = field(default_factory=MelodySettings)
    background: BackgroundTable = field(default_factory=default_background)
    modality: Modality = field(default=Modality.MELODY, init=False)
    engine: str = field(default=ENGINE, init=False)
    aux_width: int = field(default=AUX_WIDTH, init=False)

    # -- extraction ------------------------------------------------------------------------
    def extract(self, path: Path) -> Fingerprint:
        """Fingerprint a MIDI, MusicXML, ABC or kern file (``MediaError`` if unreadable)."""
        return self.fingerprint_lines(read_note_lines(Path(path)))

    def extract_text(self, text: str, *, where: str) -> Fingerprint:
        raise InputError("the melody engine reads score files, not text", where=where)

    def fingerprint_lines(self, lines: list[NoteLine]) -> Fingerprint:
        """Fingerprint note lines: one key per n-gram, aux = (line, position, context)."""
        keyed = encode_lines(lines, max_keys=self.settings.max_keys,
                             rhythm_free=self.settings.rhythm_free)
        meta: dict[str, float | int | str] = {
            "lines": len(lines),
            "notes": sum(len(line) for line in lines),
        }
        if keyed.keys.shape[0] == 0:  # the registry refuses such a file, saying why
            meta["reason"] = (
                "no pitched notes (drums and unpitched parts are left out)"
                if not meta["notes"]
                else f"no melody line of at least {N + 1} notes"
            )
        return Fingerprint(self.modality, self.engine, keyed.keys, keyed.aux,
                           MappingProxyType(meta))

    # -- matching --------------------------------------------------------------------------
    def match(self, query: Fingerprint, index: Any) -> list[Match]:
        """Registered works whose melody the query contains, best first, above threshold."""
        out: list[Match] = []
        for cand in self.rank(query, index):
            score = self.decide(cand)
            if score < 0.5:
                continue
            out.append(
                Match(
                    work_id=cand.work_id,
                    modality=Modality.MELODY,
                    score=score,
                    query_start=float(cand.query_start),
                    query_end=float(cand.query_end),
                    ref_start=float(cand.ref_start),
                    ref_end=float(cand.ref_end),
                    detail=MappingProxyType(
                        {
                            "query_line": cand.query_line,
                            "ref_line": cand.ref_line,
                            "raw_score": round(cand.raw, 3),
                            "significance": round(self.significance(cand), 3),
                            "rhythm_free_score": round(cand.free_raw, 3),
                            "vote_bits": round(cand.votes, 2),
                        }
                    ),
                )
            )
        out.sort(key=lambda m: -m.score)
        return out

    def threshold(self, query_tokens: int) -> float:
        """Raw score needed to report a match in a query line of ``query_tokens`` tokens."""
        s = self.settings
        return s.threshold_raw + s.threshold_per_doubling * math.log2(
            max(1.0, query_tokens / 15.0)
        )

    def calibrated(self, raw: float, query_tokens: int = 15) -> float:
        """Map a raw alignment score to (0, 1); 0.5 is the decision threshold."""
        z = (raw - self.threshold(query_tokens)) / self.settings.scale_raw
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def significance(self, cand: MelodyCandidate) -> float:
        """Share of the query line's own maximum that the alignment reaches, plus
        ``significance_margin`` times the lead over the best other work (as a share of the
        same maximum) when at least ``significance_others`` other works were aligned, plus
        ``vote_share_weight`` times the share of the query line's own vote that the work
        holds (exact n-grams, weighted by rarity: an edited copy keeps some of its source's
        n-grams intact, an unrelated melody that aligns by partial credits holds few)."""
        s = self.settings
        if cand.self_max <= 0:
            return 0.0
        lead = 0.0
        if cand.others >= s.significance_others:
            lead = s.significance_margin * max(0.0, cand.raw - cand.runner_up)
        shared = min(1.0, cand.votes / cand.self_votes) if cand.self_votes > 0 else 0.0
        return ((cand.raw + lead + s.exact_weight * cand.exact) / cand.self_max
                + s.vote_share_weight * shared)

    def decide(self, cand: MelodyCandidate) -> float:
        """Calibrated score in (0, 1) of a ranked candidate; >= 0.5 is a match (the
        absolute raw-score rule, the rhythm-free rule or the per-query significance, module
        docstring)."""
        s = self.settings
        score = self.calibrated(cand.raw, cand.query_tokens)
        if s.rhythm_free and cand.free_raw > 0:
            score = max(score, self.calibrated(cand.free_raw - s.rhythm_free_margin,
                                               cand.query_tokens))
        if cand.raw >= s.significance_floor:
            z = (self.significance(cand) - s.significance_threshold) / s.significance_scale
            score = max(score, 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z)))))
        return score

    def rank(self, query: Fingerprint, index: HashLookup) -> list[MelodyCandidate]:
        """Every verified candidate (no threshold), best raw score first."""
        if query.engine != self.engine:
            raise InputError(f"fingerprint made by {query.engine!r}, not {self.engine!r}",
                             where="melody query")
        m = len(query)
        if m == 0:
            return []
        s = self.settings
        if (query.aux.shape[1] != AUX_WIDTH or int(query.aux[:, :2].min()) < 0
                or int(query.aux[:, 1].max()) > s.max_keys):
            raise InputError("melody fingerprint has malformed aux columns", where="melody query")
        idf = self._row_idf(query)
        hits = index.lookup(query.keys)
        q_row = np.asarray(hits.query_row, dtype=np.int64)
        if q_row.shape[0] == 0:
            return []
        per_row = np.bincount(q_row, minlength=m)
        cap = np.where(is_interval_key(query.keys), s.rhythm_free_max_hits, s.max_hits_per_key)
        keep = per_row[q_row] <= cap[q_row]
        q_row = q_row[keep]
        work = np.asarray(hits.work, dtype=np.int64)[keep]
        r_aux = np.asarray(hits.aux, dtype=np.int32)[keep]
        if q_row.shape[0] == 0:
            return []
        # Stage 2: rarity-weighted votes of distinct query n-grams per work.
        pair = np.unique(work * m + q_row)
        votes = np.bincount(pair // m, weights=idf[pair % m])
        order = np.argsort(-votes, kind="stable")[: s.candidates + s.more_candidates]
        order = order[votes[order] > 0]
        q_tokens, q_weights = self._query_tokens(query, idf)
        line_votes = np.bincount(query.aux[:, 0].astype(np.int64), weights=idf)

        def verify(works: I64) -> list[MelodyCandidate]:
            found_all: list[MelodyCandidate] = []
            for w in works:
                sel = work == w
                found = self._verify_work(
                    int(w), q_row[sel], r_aux[sel], query.aux, idf, q_tokens, q_weights
                )
                if found is None:
                    continue
                best, free, exact = found
                q_len = int(q_tokens[best[1]].shape[0])
                found_all.append(MelodyCandidate(
                    int(w), hits.work_ids[int(w)], best[0], float(votes[w]), *best[1:], q_len,
                    float(q_weights[best[1]].sum()), free_raw=free,
                    self_votes=float(line_votes[best[1]]), exact=exact))
            return found_all

        out = with_others(verify(order[: s.candidates]))
        if order.shape[0] > s.candidates and not any(self.decide(c) >= 0.5 for c in out):
            out = with_others(out + verify(order[s.candidates :]))
        out.sort(key=lambda c: -c.raw)
        return out

    def _row_idf(self, query: Fingerprint) -> F64:
        """Rarity (bits) of each query row: the background idf of an interval/rhythm key;
        ``rhythm_free_vote`` times that of the interval/rhythm key at the same line and
        position for a rhythm-free key (the shipped table counts the former only)."""
        idf = self.background.idf_bits(query.keys)
        free = is_interval_key(query.keys)
        if not free.any():
            return idf
        stride = np.int64(self.settings.max_keys + 1)
        at = query.aux[:, 0].astype(np.int64) * stride + query.aux[:, 1].astype(np.int64)
        m_at, m_idf = at[~free], idf[~free]
        order = np.argsort(m_at, kind="stable")
        m_at, m_idf = m_at[order], m_idf[order]
        out = idf.copy()
        if m_at.shape[0] == 0:
            out[free] = 0.0
            return out
        pos = np.minimum(np.searchsorted(m_at, at[free]), m_at.shape[0] - 1)
        same = m_at[pos] == at[free]
        out[free] = np.where(same, self.settings.rhythm_free_vote * m_idf[pos], 0.0)
        return out

    def _query_tokens(self, query: Fingerprint, idf: F64) -> tuple[dict[int, U8], dict[int, F64]]:
        """Rebuild each query line's tokens from its own contexts, and per-token weights:
        the mean rarity (idf) of the interval/rhythm n-grams covering the token, in
        ``idf_unit_bits``."""
        s = self.settings
        own = ~is_interval_key(query.keys)
        ctx = unpack_context(query.aux)[own]
        idf = idf[own]
        lines = query.aux[own, 0]
        tokens: dict[int, U8] = {}
        weights: dict[int, F64] = {}
        for line in np.unique(lines):
            rows = np.flatnonzero(lines == line)
            pos = query.aux[own][rows, 1].astype(np.int64)
            length = int(pos.max()) + N
            toks = np.zeros(length, dtype=np.uint8)
            cover = pos[:, None] + np.arange(N)
            toks[cover] = ctx[rows, CONTEXT_BEFORE : CONTEXT_BEFORE + N]
            total = np.zeros(length)
            count = np.zeros(length)
            np.add.at(total, cover, np.repeat(idf[rows], N).reshape(-1, N))
            np.add.at(count, cover, 1.0)
            mean_bits = total / np.maximum(count, 1.0)
            weight = np.clip((mean_bits / s.idf_unit_bits) ** s.weight_power,
                             s.min_weight, s.max_weight)
            tokens[int(line)] = toks
            weights[int(line)] = weight
        return tokens, weights

    def _verify_work(
        self,
        work: int,
        q_row: I64,
        r_aux: npt.NDArray[np.int32],
        q_aux: npt.NDArray[np.int32],
        idf: F64,
        q_tokens: dict[int, U8],
        q_weights: dict[int, F64],
    ) -> tuple[tuple[float, int, int, int, int, int, int], float, float] | None:
        """Best alignment of one work, (raw, q_line, r_line, q_start, q_end, r_start,
        r_end), the best rhythm-free alignment score of its clusters and the exact-token
        score of the best one's."""
        s = self.settings
        q_line = q_aux[q_row, 0].astype(np.int64)
        q_pos = q_aux[q_row, 1].astype(np.int64)
        r_line = r_aux[:, 0].astype(np.int64)
        r_pos = r_aux[:, 1].astype(np.int64)
        diag = r_pos - q_pos
        order = np.lexsort((diag, r_line, q_line))
        q_line, r_line, diag, q_row = q_line[order], r_line[order], diag[order], q_row[order]
        q_pos, r_pos, r_aux = q_pos[order], r_pos[order], r_aux[order]
        new = np.ones(order.shape[0], dtype=bool)
        new[1:] = (q_line[1:] != q_line[:-1]) | (r_line[1:] != r_line[:-1]) | (
            diag[1:] - diag[:-1] > s.band
        )
        starts = np.flatnonzero(new)
        ends = np.append(starts[1:], order.shape[0])
        cluster_votes = np.array(
            [float(idf[np.unique(q_row[a:b])].sum()) for a, b in zip(starts, ends, strict=True)]
        )
        best: tuple[float, int, int, int, int, int, int] | None = None
        free = 0.0
        window: tuple[U8, F64, U8] | None = None
        for c in np.argsort(-cluster_votes, kind="stable")[: s.clusters_per_work]:
            a, b = int(starts[c]), int(ends[c])
            found = self._align_cluster(
                int(q_line[a]), q_pos[a:b], r_pos[a:b], r_aux[a:b], q_tokens, q_weights
            )
            if found is None:
                continue
            free = max(free, found[5])
            if best is None or found[0] > best[0]:
                best = (found[0], int(q_line[a]), int(r_line[a]), *found[1:5])
                window = found[6]
        if best is None or window is None:
            return None
        # the exact-token score of the best cluster, where the significance can count it
        exact = 0.0
        if (s.exact_weight != 0.0 or s.exact_always) and best[0] >= s.significance_floor:
            exact = self._exact_score(*window)
        return best, free, exact

    def _align_cluster(
        self,
        line: int,
        q_pos: I64,
        r_pos: I64,
        r_aux: npt.NDArray[np.int32],
        q_tokens: dict[int, U8],
        q_weights: dict[int, F64],
    ) -> tuple[float, int, int, int, int, float, tuple[U8, F64, U8]] | None:
        """(raw, q_start, q_end, r_start, r_end, rhythm-free score, window) of one cluster;
        window: the query tokens, their weights and the reference tokens aligned."""
        s = self.settings
        toks_q = q_tokens[line]
        # Reference tokens around the hits, from the context stored with each hit.
        r_lo = max(0, int(r_pos.min()) - CONTEXT_BEFORE)
        r_hi = int(r_pos.max()) - CONTEXT_BEFORE + CONTEXT_LEN
        r_hi = min(r_hi, r_lo + s.max_window)
        ref = np.zeros(r_hi - r_lo, dtype=np.uint8)
        ctx = unpack_context(r_aux)
        at = r_pos[:, None] - CONTEXT_BEFORE + np.arange(CONTEXT_LEN) - r_lo
        ok = (at >= 0) & (at < ref.shape[0]) & (ctx > 0)
        ref[at[ok]] = ctx[ok]
        diag = r_pos - q_pos
        q_lo = max(0, r_lo - int(diag.max()) - s.band)
        q_hi = min(toks_q.shape[0], r_hi - int(diag.min()) + s.band, q_lo + s.max_window)
        if q_hi <= q_lo:
            return None
        weight = q_weights[line][q_lo:q_hi]
        sim, frag, cons, subst = self._similarity(toks_q[q_lo:q_hi], weight, ref)
        ins3, del3 = self._note_moves(toks_q[q_lo:q_hi], weight, ref)
        al = smith_waterman(sim, s.gap, frag, cons, subst, ins3, del3)
        if al.score <= 0:
            return None
        score = al.score - s.divergence * self._divergence(
            weight, ref, al.q_start, al.q_end, al.r_start, al.r_end
        )
        free = 0.0
        # The rhythm-free score cannot exceed the query's weights in the window, and is
        # needed only where the rhythm-aware score does not already decide: skip it
        # otherwise (16-note excerpts never reach the rhythm-free rule's threshold).
        needed = self.threshold(toks_q.shape[0]) + s.rhythm_free_margin
        if s.rhythm_free and score < needed - s.rhythm_free_margin and weight.sum() >= needed:
            sim_f, frag_f, cons_f, _ = self._similarity(toks_q[q_lo:q_hi], weight, ref,
                                                        rhythm_free=True)
            al_f = smith_waterman(sim_f, s.gap, frag_f, cons_f)
            free = al_f.score - s.divergence * self._divergence(
                weight, ref, al_f.q_start, al_f.q_end, al_f.r_start, al_f.r_end
            ) if al_f.score > 0 else 0.0
        # token span [a, b) covers notes a .. b, i.e. the half-open note span [a, b + 1)
        return (score, q_lo + al.q_start, q_lo + al.q_end + 1,
                r_lo + al.r_start, r_lo + al.r_end + 1, free, (toks_q[q_lo:q_hi], weight, ref))

    def _note_moves(self, q: U8, weight: F64, r: U8) -> tuple[F64 | None, F64 | None]:
        """Gains of a note inserted in or deleted from a copy with the rhythm change it
        makes next to it (``note_move_gain``; (None, None) when off): ``ins3[i, j]``, query
        tokens (i-2, i-1, i) against reference tokens (j-1, j): the first intervals equal,
        the next two summing to the reference's second, the three rhythm classes summing to
        the two reference ones; ``del3[i, j]``, query tokens (i-1, i) against reference
        tokens (j-2, j-1, j), conversely. The first token must differ in rhythm class
        (the change the edit makes there: without it the plain moves already align it).
        The unchanged interval gains its full weight, the merged token(s)
        ``note_move_gain`` of theirs."""
        s = self.settings
        lq, lr = q.shape[0], r.shape[0]
        if s.note_move_gain <= 0 or lq < 2 or lr < 2:
            return None, None
        qi, qr = code_parts(q)
        ri, rr = code_parts(r)
        kq = qi != 99
        kr = ri != 99
        tol = s.note_move_tolerance
        ins3: F64 | None = None
        if lq >= 3:
            ins3 = np.full((lq, lr), -np.inf)
            ok = (qi[:-2, None] == ri[None, :-1]) & (qr[:-2, None] != rr[None, :-1])
            ok &= (qi[1:-1] + qi[2:])[:, None] == ri[None, 1:]
            rq = qr[:-2] + qr[1:-1] + qr[2:]
            ok &= np.abs(rq[:, None] - (rr[:-1] + rr[1:])[None, :]) <= tol
            ok &= (kq[:-2] & kq[1:-1] & kq[2:])[:, None] & (kr[:-1] & kr[1:])[None, :]
            gain = weight[:-2] + s.note_move_gain * (weight[1:-1] + weight[2:])
            ins3[2:, 1:] = np.where(ok, gain[:, None], -np.inf)
        del3: F64 | None = None
        if lr >= 3:
            del3 = np.full((lq, lr), -np.inf)
            ok = (qi[:-1, None] == ri[None, :-2]) & (qr[:-1, None] != rr[None, :-2])
            ok &= qi[1:, None] == (ri[1:-1] + ri[2:])[None, :]
            rsum = rr[:-2] + rr[1:-1] + rr[2:]
            ok &= np.abs((qr[:-1] + qr[1:])[:, None] - rsum[None, :]) <= tol
            ok &= (kq[:-1] & kq[1:])[:, None] & (kr[:-2] & kr[1:-1] & kr[2:])[None, :]
            gain = weight[:-1] + s.note_move_gain * weight[1:]
            del3[1:, 2:] = np.where(ok, gain[:, None], -np.inf)
        return ins3, del3

    def _exact_score(self, q: U8, weight: F64, ref: U8) -> float:
        """Best local alignment crediting only tokens equal in interval *and* rhythm class
        (their rarity weight), without partial credits, merged or substituted notes: an
        edited copy keeps all but the few tokens its edits touched, an unrelated melody that
        aligns by partial credits (other rhythm, neighbouring interval, substituted note)
        keeps few."""
        s = self.settings
        same = (q[:, None] == ref[None, :]) & (ref[None, :] > 0)
        sim = np.where(same, weight[:, None], -s.mismatch)
        sim[:, ref == 0] = -s.unknown
        return smith_waterman(sim, s.gap).score

    def _divergence(
        self, weight: F64, ref: U8, q_start: int, q_end: int, r_start: int, r_end: int
    ) -> float:
        """Rarity of the query tokens next to the alignment (up to ``divergence_tokens`` on
        each side) where the reference goes on too, yet differently: a copied excerpt is
        aligned up to its ends or to the reference's, while an unrelated melody that shares
        a phrase diverges on both sides. Bounded, so a long query that embeds a copied
        passage loses at most a fixed amount."""
        n = self.settings.divergence_tokens
        after = min(n, weight.shape[0] - q_end, ref.shape[0] - r_end)
        before = min(n, q_start, r_start)
        total = 0.0
        if after > 0:
            known = ref[r_end : r_end + after] > 0
            total += float(weight[q_end : q_end + after][known].sum())
        if before > 0:
            known = ref[r_start - before : r_start] > 0
            total += float(weight[q_start - before : q_start][known].sum())
        return total

    def _similarity(self, q: U8, weight: F64, r: U8, *, rhythm_free: bool = False
                    ) -> tuple[F64, F64, F64, F64 | None]:
        """Gains of aligning query tokens with reference tokens, each (len(q), len(r)):
        one to one; two query tokens (i-1, i) to one reference token j whose interval is
        their sum (a note inserted in the copy); one query token i to reference tokens
        (j-1, j) (a note deleted); query tokens (i-1, i) to reference tokens (j-1, j) with
        the same rhythm and the same interval sum (a note substituted; None if disabled).
        Weighted by the query tokens' rarity. ``rhythm_free``: the pitch interval alone
        decides (another setting, re-barred or in another metre)."""
        s = self.settings
        qi, qr = code_parts(q)
        ri, rr = code_parts(r)
        same_i = qi[:, None] == ri[None, :]
        if rhythm_free:
            gain = same_i.astype(np.float64)
        else:
            same_r = qr[:, None] == rr[None, :]
            near_i = np.abs(qi[:, None] - ri[None, :]) <= 2
            gain = np.where(
                same_i & same_r,
                1.0,
                np.where(same_i, s.partial_rhythm,
                         np.where(same_r & near_i, s.partial_pitch, 0.0)),
            )
        sim = np.where(gain > 0, gain * weight[:, None], -s.mismatch)
        unknown = r == 0
        sim[:, unknown] = -s.unknown
        known_q = qi != 99
        frag = np.full(sim.shape, -np.inf)
        if q.shape[0] >= 2:
            pair_i = qi[:-1] + qi[1:]
            ok = (pair_i[:, None] == ri[None, :]) & known_q[1:, None] & known_q[:-1, None]
            ok &= ~unknown[None, :]
            w2 = 0.5 * (weight[:-1] + weight[1:])
            frag[1:] = np.where(ok, s.merge_gain * w2[:, None], -np.inf)
        cons = np.full(sim.shape, -np.inf)
        if r.shape[0] >= 2:
            pair_r = ri[:-1] + ri[1:]
            ok = (qi[:, None] == pair_r[None, :]) & ~unknown[None, 1:] & ~unknown[None, :-1]
            cons[:, 1:] = np.where(ok, s.merge_gain * weight[:, None], -np.inf)
        subst: F64 | None = None
        if s.subst_gain > 0 and not rhythm_free and q.shape[0] >= 2 and r.shape[0] >= 2:
            subst = np.full(sim.shape, -np.inf)
            ok = ((qi[:-1] + qi[1:])[:, None] == (ri[:-1] + ri[1:])[None, :])
            ok &= (qr[:-1, None] == rr[None, :-1]) & (qr[1:, None] == rr[None, 1:])
            ok &= qi[1:, None] != ri[None, 1:]  # else two diagonal steps score more
            ok &= known_q[1:, None] & known_q[:-1, None] & ~unknown[None, 1:]
            ok &= ~unknown[None, :-1]
            w2 = weight[:-1] + weight[1:]
            subst[1:, 1:] = np.where(ok, s.subst_gain * w2[:, None], -np.inf)
        return np.asarray(sim, dtype=np.float64), frag, cons, subst
