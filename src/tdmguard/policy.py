"""Pure policy decisions: may this work be used for this use, purpose, actor and date?

Given the registry's facts about a work's holder (reservations, exemptions, licences), return
``keep``, ``exclude`` or ``review`` with every reason. No I/O: the registry hands in plain
values, so the rules are tested table-driven (``tests/test_policy.py``).

Rules, in order:
1. Entries are judged at the date ``at``: an entry counts from ``effective_from`` (inclusive)
   to ``effective_until`` (exclusive) and stops counting from its revocation date. Entries not
   yet (or no longer) in force are reported but do not decide.
2. A per-work entry beats a holder-wide one for the uses it names (most specific wins); a
   per-work *exemption* lifts a holder-wide reservation for its uses.
3. Entries of equal specificity that disagree (a reservation and an exemption both in force)
   give ``review``: a person has to look.
4. A reservation in force for the use and purpose excludes, unless a licence in force covers
   this actor, work, use and purpose (then ``keep``), or the purpose is research and the
   research exception (EU DSM Art. 3) is switched on in the settings (then ``keep``).
5. No reservation in force: ``keep``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tdmguard.vocab import Decision, DecisionKind, Purpose, Reason, Use, covered_uses

__all__ = [
    "Licence",
    "PolicyFacts",
    "Reservation",
    "decide",
    "in_force",
]


@dataclass(frozen=True, slots=True)
class Reservation:
    """A dated reservation (or, with ``exempt``, an exemption) by a holder.

    ``work_ids`` empty means holder-wide. ``purposes`` empty means every purpose.
    """

    id: int
    holder: str
    uses: frozenset[Use]
    effective_from: date
    effective_until: date | None = None
    work_ids: frozenset[str] = frozenset()
    purposes: frozenset[Purpose] = frozenset()
    exempt: bool = False
    revoked_on: date | None = None
    declared_at: str | None = None

    @property
    def holder_wide(self) -> bool:
        return not self.work_ids


@dataclass(frozen=True, slots=True)
class Licence:
    """A dated licence from a holder to a licensee; ``work_ids`` empty means all works."""

    id: int
    holder: str
    licensee: str
    uses: frozenset[Use]
    valid_from: date
    valid_until: date | None = None
    work_ids: frozenset[str] = frozenset()
    purposes: frozenset[Purpose] = frozenset()
    revoked_on: date | None = None


@dataclass(frozen=True, slots=True)
class PolicyFacts:
    """Everything the registry knows about one holder that bears on decisions."""

    holder: str
    reservations: tuple[Reservation, ...] = ()
    licences: tuple[Licence, ...] = ()


def in_force(
    start: date, until: date | None, revoked_on: date | None, at: date
) -> tuple[bool, str]:
    """Whether a dated entry counts at ``at``; the second value is why not."""
    if at < start:
        return False, "not-yet-in-force"
    if until is not None and at >= until:
        return False, "expired"
    if revoked_on is not None and at >= revoked_on:
        return False, "revoked"
    return True, ""


def _applies_to(entry_works: frozenset[str], work_id: str | None) -> bool:
    return not entry_works or (work_id is not None and work_id in entry_works)


def _covers_purpose(purposes: frozenset[Purpose], purpose: Purpose) -> bool:
    return not purposes or purpose in purposes


def _via(entry_uses: frozenset[Use], use: Use) -> str | None:
    """The broader use through which an entry covers ``use`` (``tdm`` covers ``ai-train``),
    or None when it names ``use`` itself."""
    if use in entry_uses:
        return None
    parents = sorted(u.value for u in entry_uses if use in covered_uses([u]))
    return parents[0] if parents else None


def _same_actor(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def decide(
    facts: PolicyFacts,
    *,
    work_id: str | None,
    use: Use,
    purpose: Purpose,
    actor: str,
    at: date,
    research_exception: bool = False,
) -> Decision:
    """Decide for one work (``work_id``; None judges the holder's catalogue as a whole)."""
    reasons: list[Reason] = []
    live: list[Reservation] = []
    for res in facts.reservations:
        if not _applies_to(res.work_ids, work_id):
            continue
        if use not in covered_uses(res.uses) or not _covers_purpose(res.purposes, purpose):
            continue
        ok, why = in_force(res.effective_from, res.effective_until, res.revoked_on, at)
        if ok:
            live.append(res)
        else:
            kind = "exemption" if res.exempt else "reservation"
            reasons.append(
                Reason(
                    f"{kind}-{why}",
                    f"{kind} {res.id} is {why.replace('-', ' ')} on {at}",
                    {"entry": res.id},
                )
            )

    # Most specific first: per-work entries decide when there are any.
    per_work = [r for r in live if not r.holder_wide]
    deciding = per_work or [r for r in live if r.holder_wide]
    reserved = [r for r in deciding if not r.exempt]
    exempted = [r for r in deciding if r.exempt]
    scope = "work" if per_work else "holder-wide"

    if reserved and exempted:
        reasons.append(
            Reason(
                "conflicting-entries",
                f"{scope} reservation {reserved[0].id} and exemption {exempted[0].id} are both "
                f"in force for {use.value}",
                {"reservation": reserved[0].id, "exemption": exempted[0].id},
            )
        )
        return Decision(DecisionKind.REVIEW, tuple(reasons))
    if not reserved:
        if exempted:
            via = _via(exempted[0].uses, use)
            reasons.append(
                Reason(
                    "work-exemption" if per_work else "holder-exemption",
                    f"exemption {exempted[0].id} lifts the reservation for {use.value}"
                    + (f" (an exemption for {via} lifts every narrower use)" if via else ""),
                    {"exemption": exempted[0].id} | ({"via": via} if via else {}),
                )
            )
        reasons.append(Reason("no-reservation", f"nothing reserves {use.value} on {at}"))
        return Decision(DecisionKind.KEEP, tuple(reasons))

    first = reserved[0]
    via = _via(first.uses, use)
    reserved_reason = Reason(
        "reserved-work" if per_work else "reserved-holder-wide",
        f"{facts.holder} reserved {', '.join(sorted(u.value for u in first.uses))} "
        f"from {first.effective_from}" + (f" ({via} covers {use.value})" if via else ""),
        {"reservation": first.id} | ({"via": via} if via else {}),
    )
    reasons.append(reserved_reason)

    for lic in facts.licences:
        if not _same_actor(lic.licensee, actor) or not _applies_to(lic.work_ids, work_id):
            continue
        if use not in covered_uses(lic.uses) or not _covers_purpose(lic.purposes, purpose):
            continue
        ok, why = in_force(lic.valid_from, lic.valid_until, lic.revoked_on, at)
        if ok:
            reasons.append(
                Reason(
                    "licensed",
                    f"licence {lic.id} to {lic.licensee} covers {use.value}",
                    {"licence": lic.id},
                )
            )
            return Decision(DecisionKind.KEEP, tuple(reasons))
        reasons.append(
            Reason(
                f"licence-{why}",
                f"licence {lic.id} is {why.replace('-', ' ')} on {at}",
                {"licence": lic.id},
            )
        )

    if purpose is Purpose.RESEARCH and research_exception:
        reasons.append(
            Reason(
                "research-exception",
                "scientific research (EU DSM Art. 3) cannot be opted out; setting is on",
            )
        )
        return Decision(DecisionKind.KEEP, tuple(reasons))
    return Decision(DecisionKind.EXCLUDE, tuple(reasons))
