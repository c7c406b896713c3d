"""Shared vocabulary: uses, purposes, stances, evidence, verdicts, matches, decisions.

Every protocol's own labels map into :class:`Use` through :data:`CROSSWALK`, kept as data
(``reference/optout-protocols.md`` section 0.2).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

__all__ = [
    "COVERS",
    "CROSSWALK",
    "Decision",
    "DecisionKind",
    "Evidence",
    "Match",
    "MergedStances",
    "Modality",
    "Purpose",
    "Reason",
    "Stance",
    "Use",
    "Verdict",
    "WorkKind",
    "cap_on_thin_evidence",
    "covered_uses",
    "merge_verdicts",
    "uses_for_label",
]


class Use(enum.StrEnum):
    """What the content would be used for (DESIGN.md, shared vocabulary)."""

    TDM = "tdm"  # any text and data mining; covers all below
    AI_TRAIN = "ai-train"  # training any model
    GENAI_TRAIN = "genai-train"  # training generative models; covered by ai-train
    AI_INPUT = "ai-input"  # inference, RAG, grounding
    SEARCH = "search"  # search indexing


# A reservation of the key also reserves every use in the value (the narrower uses).
COVERS: Mapping[Use, frozenset[Use]] = MappingProxyType(
    {
        Use.TDM: frozenset(Use),
        Use.AI_TRAIN: frozenset({Use.AI_TRAIN, Use.GENAI_TRAIN}),
        Use.GENAI_TRAIN: frozenset({Use.GENAI_TRAIN}),
        Use.AI_INPUT: frozenset({Use.AI_INPUT}),
        Use.SEARCH: frozenset({Use.SEARCH}),
    }
)


def covered_uses(uses: Iterable[Use]) -> frozenset[Use]:
    """Every use reserved when ``uses`` are reserved.

    ``tdm`` covers all; ``ai-train`` covers ``genai-train``."""
    out: set[Use] = set()
    for use in uses:
        out |= COVERS[use]
    return frozenset(out)


class Purpose(enum.StrEnum):
    COMMERCIAL = "commercial"
    RESEARCH = "research"  # EU DSM Art. 3: research organisations' scientific research


class Stance(enum.StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    UNKNOWN = "unknown"  # no signal; never read as allow


class Modality(enum.StrEnum):
    AUDIO = "audio"
    LYRICS = "lyrics"
    MELODY = "melody"
    IMAGE = "image"


class WorkKind(enum.StrEnum):
    RECORDING = "recording"
    COMPOSITION = "composition"
    LYRICS = "lyrics"
    MELODY = "melody"
    ARTWORK = "artwork"


class DecisionKind(enum.StrEnum):
    KEEP = "keep"
    EXCLUDE = "exclude"
    REVIEW = "review"


# Crosswalk of every protocol's labels into our uses (optout-protocols.md section 0.2).
# Keys: (protocol, label) with labels lower-cased. A label maps to the set of uses it reserves
# (a "no" on it denies these uses).
_T = frozenset
CROSSWALK: Mapping[tuple[str, str], frozenset[Use]] = MappingProxyType(
    {
        # IETF AIPREF, current vocabulary (vocab-07): train-ai now means generative training.
        ("aipref", "train-ai"): _T({Use.GENAI_TRAIN}),
        ("aipref", "search"): _T({Use.SEARCH}),
        # Older AIPREF labels still found in the wild.
        ("aipref-legacy", "tdm"): _T({Use.TDM}),
        ("aipref-legacy", "all"): _T({Use.TDM}),
        ("aipref-legacy", "bots"): _T({Use.TDM}),
        ("aipref-legacy", "ai"): _T({Use.AI_TRAIN}),
        ("aipref-legacy", "train-ai"): _T({Use.AI_TRAIN}),
        ("aipref-legacy", "genai"): _T({Use.GENAI_TRAIN}),
        ("aipref-legacy", "train-genai"): _T({Use.GENAI_TRAIN}),
        ("aipref-legacy", "inference"): _T({Use.AI_INPUT}),
        ("aipref-legacy", "ai-use"): _T({Use.AI_INPUT}),
        ("aipref-legacy", "ai-output"): _T({Use.AI_INPUT}),
        ("aipref-legacy", "search"): _T({Use.SEARCH}),
        # Cloudflare Content Signals.
        ("content-signal", "ai-train"): _T({Use.AI_TRAIN}),
        ("content-signal", "ai-input"): _T({Use.AI_INPUT}),
        ("content-signal", "search"): _T({Use.SEARCH}),
        # RSL usage tokens.
        ("rsl", "all"): _T({Use.TDM}),
        ("rsl", "ai-all"): _T({Use.AI_TRAIN, Use.AI_INPUT}),
        ("rsl", "ai-train"): _T({Use.AI_TRAIN}),
        ("rsl", "ai-input"): _T({Use.AI_INPUT}),
        ("rsl", "ai-index"): _T({Use.AI_INPUT}),
        ("rsl", "search"): _T({Use.SEARCH}),
        # ISCC / Liccium TDM-AI.
        ("tdmai", "all"): _T({Use.TDM}),
        ("tdmai", "train-ai"): _T({Use.AI_TRAIN}),
        ("tdmai", "train-genai"): _T({Use.GENAI_TRAIN}),
        ("tdmai", "ai-use"): _T({Use.AI_INPUT}),
        ("tdmai", "search"): _T({Use.SEARCH}),
        # CAWG / C2PA training-and-data-mining entries (prefix c2pa. or cawg. stripped).
        ("cawg", "data_mining"): _T({Use.TDM}),
        ("cawg", "ai_training"): _T({Use.AI_TRAIN}),
        ("cawg", "ai_generative_training"): _T({Use.GENAI_TRAIN}),
        ("cawg", "ai_inference"): _T({Use.AI_INPUT}),
        # IPTC PLUS Data Mining (values upper-cased in the spec, lower-cased here).
        ("iptc", "dmi-prohibited"): _T({Use.TDM}),
        ("iptc", "dmi-prohibited-aimltraining"): _T({Use.AI_TRAIN}),
        ("iptc", "dmi-prohibited-genaimltraining"): _T({Use.GENAI_TRAIN}),
        ("iptc", "dmi-prohibited-exceptsearchengineindexing"): _T({Use.AI_TRAIN, Use.AI_INPUT}),
        # "Prohibited except as stated elsewhere": a reservation whose terms live in Other
        # Constraints or a rights expression; without a licence it denies all mining.
        ("iptc", "dmi-prohibited-seeconstraint"): _T({Use.TDM}),
        ("iptc", "dmi-prohibited-seeembeddedrightsexpr"): _T({Use.TDM}),
        ("iptc", "dmi-prohibited-seelinkedrightsexpr"): _T({Use.TDM}),
        # TDMRep: tdm-reservation: 1 reserves all TDM.
        ("tdmrep", "1"): _T({Use.TDM}),
        # robots.txt (DESIGN.md reading rule 2): a Disallow for the collecting crawler, or the
        # complete disallow after a 5xx, means it may not collect the content at all.
        ("robots", "disallow"): _T({Use.TDM}),
        # Token-only agents govern use, not crawling (optout-protocols.md section 2.2).
        ("robots-token", "google-extended"): _T({Use.AI_TRAIN, Use.AI_INPUT}),
        ("robots-token", "applebot-extended"): _T({Use.AI_TRAIN}),
        # Spawning ai.txt: a Disallow keeps the file out of AI datasets (section 7.1).
        ("ai-txt", "disallow"): _T({Use.AI_TRAIN}),
        # RSL: a licence that cannot be obtained means the asset is unlicensed (section 5.1).
        ("rsl", "unlicensed"): _T({Use.AI_TRAIN, Use.AI_INPUT}),
        # robots meta / X-Robots-Tag (DeviantArt convention covers training and input).
        ("robots-meta", "noai"): _T({Use.AI_TRAIN, Use.AI_INPUT}),
        ("robots-meta", "noimageai"): _T({Use.AI_TRAIN, Use.AI_INPUT}),
    }
)


def uses_for_label(protocol: str, label: str) -> frozenset[Use]:
    """Uses reserved by ``label`` in ``protocol``; empty when the label is unknown."""
    return CROSSWALK.get((protocol.lower(), label.strip().lower()), frozenset())


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a stance or a match came from.

    ``source`` names the channel (``robots.txt``, ``tdmrep.json``, ``xmp:plus:DataMining``,
    ``registry:audio``); ``locator`` the URL, file path, byte or time offset; ``raw`` the
    deciding rule or header (short text), or for a content match the match itself as a JSON
    object (written as structured JSON, never as JSON inside a string); ``digest`` the SHA-256
    of the raw bytes read.
    """

    source: str
    locator: str
    raw: str | Mapping[str, object] = ""
    digest: str = ""
    observed_at: str = ""
    status: int | None = None
    parser_version: str = ""

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"source": self.source, "locator": self.locator}
        for key in ("raw", "digest", "observed_at", "parser_version"):
            value = getattr(self, key)
            if value:
                out[key] = dict(value) if isinstance(value, Mapping) else value
        if self.status is not None:
            out["status"] = self.status
        return out


@dataclass(frozen=True, slots=True)
class Verdict:
    """Stances per use from one source, with the evidence behind them."""

    source: str
    stances: Mapping[Use, Stance]
    evidence: tuple[Evidence, ...] = ()
    problems: tuple[str, ...] = ()

    def stance(self, use: Use) -> Stance:
        return self.stances.get(use, Stance.UNKNOWN)

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "stances": {u.value: s.value for u, s in self.stances.items()},
            "evidence": [e.to_json() for e in self.evidence],
            "problems": list(self.problems),
        }


@dataclass(frozen=True, slots=True)
class MergedStances:
    """The cross-source merge: one stance per use, plus the disagreements found."""

    stances: Mapping[Use, Stance]
    disagreements: tuple[str, ...]


def merge_verdicts(verdicts: Iterable[Verdict]) -> MergedStances:
    """Any applicable ``deny`` wins per use; else any ``allow``; else ``unknown``.

    A disagreement is reported when one source denies a use that another allows.
    """
    verdict_list = list(verdicts)
    stances: dict[Use, Stance] = {}
    disagreements: list[str] = []
    for use in Use:
        denied = [v.source for v in verdict_list if v.stance(use) is Stance.DENY]
        allowed = [v.source for v in verdict_list if v.stance(use) is Stance.ALLOW]
        if denied:
            stances[use] = Stance.DENY
            if allowed:
                disagreements.append(
                    f"{use.value}: denied by {', '.join(denied)}; allowed by {', '.join(allowed)}"
                )
        elif allowed:
            stances[use] = Stance.ALLOW
        else:
            stances[use] = Stance.UNKNOWN
    return MergedStances(stances, tuple(disagreements))


@dataclass(frozen=True, slots=True)
class Match:
    """A content match of a query against a registered work.

    Spans are in seconds for audio, characters (query) and lines (reference) for lyrics,
    note indices for melody, and the whole image (0, 1) for images.
    """

    work_id: str
    modality: Modality
    score: float
    query_start: float = 0.0
    query_end: float = 0.0
    ref_start: float = 0.0
    ref_end: float = 0.0
    time_factor: float = 1.0
    pitch_factor: float = 1.0
    detail: Mapping[str, object] = field(default_factory=dict)

    @property
    def needs_review(self) -> bool:
        """The engine rates the evidence as thin (``detail["confidence"] == "review"``: a
        short or common overlap): a person has to look; a scan never excludes on it."""
        return self.detail.get("confidence") == "review"

    def to_json(self) -> dict[str, object]:
        """JSON with units in the span names: ``_s`` for audio, ``_char`` / ``_line`` for
        lyrics (document characters, lyric lines), ``_note`` for melody; none for images."""
        out: dict[str, object] = {
            "work_id": self.work_id,
            "modality": self.modality.value,
            "score": round(self.score, 4),
        }
        q_unit, r_unit = _SPAN_UNITS[self.modality]
        if q_unit:
            out[f"query_start_{q_unit}"] = _num(self.query_start)
            out[f"query_end_{q_unit}"] = _num(self.query_end)
            out[f"ref_start_{r_unit}"] = _num(self.ref_start)
            out[f"ref_end_{r_unit}"] = _num(self.ref_end)
        if self.modality is Modality.AUDIO:
            out["time_factor"] = round(self.time_factor, 4)
            out["pitch_factor"] = round(self.pitch_factor, 4)
        out.update(self.detail)
        return out


_SPAN_UNITS: Mapping[Modality, tuple[str, str]] = MappingProxyType(
    {
        Modality.AUDIO: ("s", "s"),
        Modality.LYRICS: ("char", "line"),
        Modality.MELODY: ("note", "note"),
        Modality.IMAGE: ("", ""),
    }
)


def cap_on_thin_evidence(match: Match, kind: DecisionKind) -> tuple[DecisionKind, Reason | None]:
    """A match the engine rates as thin evidence (``Match.needs_review``) never excludes on
    its own: ``exclude`` becomes ``review``, with the reason why. The scan, ``identify`` and
    the API share this rule."""
    if not match.needs_review or kind is not DecisionKind.EXCLUDE:
        return kind, None
    why = Reason(
        "match-needs-review",
        f"{match.modality.value} match on thin evidence",
        {"work": match.work_id},
    )
    return DecisionKind.REVIEW, why


def _num(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 3)


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a decision went the way it did. ``code`` is stable and becomes a report counter
    (``reserved-holder-wide``, ``licensed``, ``signal-deny``...); ``detail`` says which entry."""

    code: str
    detail: str = ""
    refs: Mapping[str, str | int] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"code": self.code}
        if self.detail:
            out["detail"] = self.detail
        out.update(self.refs)
        return out


@dataclass(frozen=True, slots=True)
class Decision:
    """``keep`` / ``exclude`` / ``review`` for one record and one (use, purpose, actor, date)."""

    kind: DecisionKind
    reasons: tuple[Reason, ...]
    evidence: tuple[Evidence, ...] = ()
    judged_at: datetime | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "decision": self.kind.value,
            "reasons": [r.to_json() for r in self.reasons],
            "evidence": [e.to_json() for e in self.evidence],
        }
