"""The decision step: a record's check outcomes -> keep / exclude / review, with reasons and
evidence (DESIGN.md, scan pipeline).

Order of precedence: an error is never kept (it goes to ``errors.jsonl``); then ``exclude``
beats ``review`` beats ``keep``. A record with neither a signal nor a match is ``unknown``,
which the caller's ``--unknown`` policy turns into keep, exclude or review (never silently
allowed: the reason ``no-signal`` is counted in the report).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from tdmguard.policy import PolicyFacts, decide
from tdmguard.scan.checks.base import CheckOutcome
from tdmguard.scan.record import MediaKind, Record
from tdmguard.vocab import (
    Decision,
    DecisionKind,
    Evidence,
    Match,
    Purpose,
    Reason,
    Stance,
    Use,
    cap_on_thin_evidence,
    merge_verdicts,
)

__all__ = ["DecisionSettings", "PolicyCache", "RegistryView", "WorkRef", "decide_record"]


@dataclass(frozen=True, slots=True)
class WorkRef:
    holder: str
    title: str


@dataclass(frozen=True, slots=True)
class RegistryView:
    """What a scan needs of the registry, loaded once and shipped to every worker."""

    works: Mapping[str, WorkRef]
    facts: Mapping[str, PolicyFacts]
    digest: str  # the audit head (every change through tdmguard moves it)
    sources: tuple[Mapping[str, object], ...] = ()  # mirrored snapshots (registry/snapshot)
    # Registered fingerprints per modality ("audio" -> count): a scan whose index lacks a
    # modality that has some is refused (nothing is kept on the strength of a missing index).
    fingerprinted: Mapping[str, int] = field(default_factory=dict)
    # SHA-256 over the decision-relevant tables (Registry.content_digest): unlike the audit
    # head, it moves when a row is edited outside tdmguard.
    content_digest: str = ""


@dataclass(frozen=True, slots=True)
class DecisionSettings:
    use: Use
    purpose: Purpose
    actor: str
    at: date
    unknown: DecisionKind = DecisionKind.KEEP
    research_exception: bool = False


_RANK = {DecisionKind.KEEP: 0, DecisionKind.REVIEW: 1, DecisionKind.EXCLUDE: 2}

# The holder's policy on one matched work, as ``decide_record`` reports it: the kind and the
# reasons (with the work's references), keyed by (work id, modality). It depends only on the
# registry view and the decision settings, which are fixed for a scan, so a worker judges
# each work once instead of once per matching record (on a set where half the records
# match, the policy walk and its reasons were a third of the scan's own per-item cost).
PolicyCache = dict[tuple[str, str], tuple[DecisionKind, tuple[Reason, ...]]]


_UNIT = {"audio": "s", "lyrics": "chars", "melody": "notes", "image": ""}


def _match_evidence(record: Record, match: Match, raw: dict[str, object]) -> Evidence:
    unit = _UNIT[match.modality.value]
    span = f"{match.query_start:g}-{match.query_end:g}{unit}" if unit else "whole image"
    return Evidence(
        source=f"registry:{match.modality.value}",
        locator=f"{record.path or record.where or record.id}@{span}",
        raw=raw,
    )


@lru_cache(maxsize=8)
def _no_signal(unknown: DecisionKind) -> Reason:
    """The reason of a record with no signal and no match (the same for every such record
    of a scan: made once)."""
    return Reason(
        "no-signal",
        f"no reservation signal and no registered work found; --unknown {unknown.value}",
    )


def _judge_work(
    match: Match, ref: WorkRef, view: RegistryView, settings: DecisionSettings
) -> tuple[DecisionKind, tuple[Reason, ...]]:
    """The holder's policy on a matched work (``policy.decide``), its reasons carrying the
    work's references."""
    facts = view.facts.get(ref.holder, PolicyFacts(ref.holder))
    decision = decide(
        facts,
        work_id=match.work_id,
        use=settings.use,
        purpose=settings.purpose,
        actor=settings.actor,
        at=settings.at,
        research_exception=settings.research_exception,
    )
    refs = {
        "work": match.work_id,
        "holder": ref.holder,
        "title": ref.title,
        "modality": match.modality.value,
    }
    return decision.kind, tuple(
        Reason(reason.code, reason.detail, dict(reason.refs) | refs) for reason in decision.reasons
    )


def decide_record(
    record: Record,
    outcomes: Sequence[CheckOutcome],
    view: RegistryView,
    settings: DecisionSettings,
    policy_cache: PolicyCache | None = None,
    match_json: dict[int, dict[str, object]] | None = None,
) -> tuple[Decision, list[Match]]:
    """Decide one record; returns the decision and the matches that bore on it.
    ``policy_cache``, kept by the caller for one scan (one view, one set of settings),
    saves judging the same work again for every record that matches it. ``match_json``,
    when given, gets each match's JSON as the evidence holds it, by ``id`` of the match,
    for a caller that writes the matches too (the same values: made once)."""
    kind = DecisionKind.KEEP
    reasons: list[Reason] = []
    evidence: list[Evidence] = []
    matches = [m for o in outcomes for m in o.matches]

    # 1. Signals (embedded metadata, source URL): any applicable deny wins.
    verdicts = [v for o in outcomes for v in o.verdicts]
    # Most records carry no signal at all: their stance is unknown, with nothing to merge
    # (the merge walks every use; skipping it is a per-item saving on large scans).
    merged = merge_verdicts(verdicts) if verdicts else None
    stance = merged.stances[settings.use] if merged is not None else Stance.UNKNOWN
    if stance is Stance.DENY:
        kind = DecisionKind.EXCLUDE
        deniers = [v for v in verdicts if v.stance(settings.use) is Stance.DENY]
        reasons.append(
            Reason(
                "signal-deny",
                f"{settings.use.value} denied by {', '.join(sorted({v.source for v in deniers}))}",
            )
        )
        evidence.extend(e for v in deniers for e in v.evidence)
    elif stance is Stance.ALLOW:
        reasons.append(Reason("signal-allow", f"{settings.use.value} explicitly allowed"))
    for text in merged.disagreements if merged is not None else ():
        reasons.append(Reason("signal-disagreement", text))

    # 2. Content matches against registered works, judged by the holder's policy.
    seen: set[str] = set()
    for match in sorted(matches, key=lambda m: -m.score):
        if match.work_id in seen:
            continue
        seen.add(match.work_id)
        ref = view.works.get(match.work_id)
        raw = match.to_json()
        if match_json is not None:
            match_json[id(match)] = raw
        evidence.append(_match_evidence(record, match, raw))
        if ref is None:
            kind = max(kind, DecisionKind.REVIEW, key=_RANK.__getitem__)
            reasons.append(
                Reason(
                    "unknown-work",
                    f"matched {match.work_id}, which the registry no longer holds (stale index?)",
                    {"work": match.work_id},
                )
            )
            continue
        key = (match.work_id, match.modality.value)
        judged = policy_cache.get(key) if policy_cache is not None else None
        if judged is None:
            judged = _judge_work(match, ref, view, settings)
            if policy_cache is not None:
                policy_cache[key] = judged
        # thin evidence (a short or common overlap): review, never exclude on it
        verdict, why = cap_on_thin_evidence(match, judged[0])
        if why is not None:
            reasons.append(why)
        kind = max(kind, verdict, key=_RANK.__getitem__)
        reasons.extend(judged[1])

    if not matches and stance is Stance.UNKNOWN:
        kind = settings.unknown
        reasons.append(_no_signal(settings.unknown))
    # Fail closed: content the scan could not identify (an unknown binary, a member of an
    # unknown kind) is never kept on the strength of nothing having matched it.
    unchecked = [
        p.id
        for p in (record.parts or (record,))
        if p.media is MediaKind.UNKNOWN and (p.path is not None or p.data is not None)
    ] if record.parts or record.media is MediaKind.UNKNOWN else []
    if unchecked and kind is DecisionKind.KEEP:
        kind = DecisionKind.REVIEW
        reasons.append(
            Reason(
                "content-not-checked",
                f"content of an unknown kind could not be checked: {', '.join(unchecked)}",
            )
        )
    return Decision(kind, tuple(reasons), tuple(evidence)), matches
