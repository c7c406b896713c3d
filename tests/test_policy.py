"""Table-driven tests of every policy rule and their combinations."""

from __future__ import annotations

from datetime import date

import pytest

from tdmguard.policy import Licence, PolicyFacts, Reservation, decide, in_force
from tdmguard.vocab import DecisionKind, Purpose, Use

D = date.fromisoformat
KEEP, EXCLUDE, REVIEW = DecisionKind.KEEP, DecisionKind.EXCLUDE, DecisionKind.REVIEW
C, R = Purpose.COMMERCIAL, Purpose.RESEARCH


def res(id: int, uses: set[Use], start: str = "2025-01-01", **kw: object) -> Reservation:
    return Reservation(id=id, holder="Label", uses=frozenset(uses), effective_from=D(start),
                       **kw)  # type: ignore[arg-type]


def lic(id: int, licensee: str, uses: set[Use], start: str = "2025-01-01", **kw: object
        ) -> Licence:
    return Licence(id=id, holder="Label", licensee=licensee, uses=frozenset(uses),
                   valid_from=D(start), **kw)  # type: ignore[arg-type]


HOLDER_WIDE = res(1, {Use.TDM}, purposes=frozenset({C}))
CASES = [
    # (name, reservations, licences, work, use, purpose, actor, at, research_exc, expected, codes)
    ("no reservation", [], [], "w1", Use.AI_TRAIN, C, "A", "2026-01-01", False, KEEP,
     ["no-reservation"]),
    ("holder-wide tdm covers ai-train", [HOLDER_WIDE], [], "w1", Use.AI_TRAIN, C, "A",
     "2026-01-01", False, EXCLUDE, ["reserved-holder-wide"]),
    ("holder-wide covers genai via ai-train", [res(1, {Use.AI_TRAIN})], [], "w1",
     Use.GENAI_TRAIN, C, "A", "2026-01-01", False, EXCLUDE, ["reserved-holder-wide"]),
    ("genai reservation does not cover ai-train", [res(1, {Use.GENAI_TRAIN})], [], "w1",
     Use.AI_TRAIN, C, "A", "2026-01-01", False, KEEP, ["no-reservation"]),
    ("search not covered by ai-train", [res(1, {Use.AI_TRAIN})], [], "w1", Use.SEARCH, C, "A",
     "2026-01-01", False, KEEP, ["no-reservation"]),
    ("commercial-only reservation leaves research", [HOLDER_WIDE], [], "w1", Use.AI_TRAIN, R,
     "A", "2026-01-01", False, KEEP, ["no-reservation"]),
    ("reservation not yet in force", [HOLDER_WIDE], [], "w1", Use.AI_TRAIN, C, "A",
     "2024-12-31", False, KEEP, ["reservation-not-yet-in-force", "no-reservation"]),
    ("reservation in force on its first day", [HOLDER_WIDE], [], "w1", Use.AI_TRAIN, C, "A",
     "2025-01-01", False, EXCLUDE, ["reserved-holder-wide"]),
    ("reservation expired (until is exclusive)",
     [res(1, {Use.TDM}, effective_until=D("2026-01-01"))], [], "w1", Use.AI_TRAIN, C, "A",
     "2026-01-01", False, KEEP, ["reservation-expired", "no-reservation"]),
    ("reservation revoked", [res(1, {Use.TDM}, revoked_on=D("2025-06-01"))], [], "w1",
     Use.AI_TRAIN, C, "A", "2025-07-01", False, KEEP, ["reservation-revoked", "no-reservation"]),
    ("revoked reservation still judged before revocation",
     [res(1, {Use.TDM}, revoked_on=D("2025-06-01"))], [], "w1", Use.AI_TRAIN, C, "A",
     "2025-05-31", False, EXCLUDE, ["reserved-holder-wide"]),
    ("per-work reservation", [res(2, {Use.AI_TRAIN}, work_ids=frozenset({"w1"}))], [], "w1",
     Use.AI_TRAIN, C, "A", "2026-01-01", False, EXCLUDE, ["reserved-work"]),
    ("per-work reservation does not touch other works",
     [res(2, {Use.AI_TRAIN}, work_ids=frozenset({"w1"}))], [], "w2", Use.AI_TRAIN, C, "A",
     "2026-01-01", False, KEEP, ["no-reservation"]),
    ("per-work exemption lifts holder-wide",
     [HOLDER_WIDE, res(3, {Use.AI_TRAIN}, work_ids=frozenset({"w1"}), exempt=True)], [], "w1",
     Use.AI_TRAIN, C, "A", "2026-01-01", False, KEEP, ["work-exemption", "no-reservation"]),
    ("per-work exemption only for its uses",
     [HOLDER_WIDE, res(3, {Use.AI_INPUT}, work_ids=frozenset({"w1"}), exempt=True)], [], "w1",
     Use.AI_TRAIN, C, "A", "2026-01-01", False, EXCLUDE, ["reserved-holder-wide"]),
    ("exemption and reservation on the same work: review",
     [res(2, {Use.TDM}, work_ids=frozenset({"w1"})),
      res(3, {Use.AI_TRAIN}, work_ids=frozenset({"w1"}), exempt=True)], [], "w1",
     Use.AI_TRAIN, C, "A", "2026-01-01", False, REVIEW, ["conflicting-entries"]),
    ("licence covers actor", [HOLDER_WIDE], [lic(1, "OpenCo", {Use.AI_TRAIN})], "w1",
     Use.AI_TRAIN, C, "openco", "2026-01-01", False, KEEP, ["reserved-holder-wide", "licensed"]),
    ("licence for another actor", [HOLDER_WIDE], [lic(1, "OpenCo", {Use.AI_TRAIN})], "w1",
     Use.AI_TRAIN, C, "Other", "2026-01-01", False, EXCLUDE, ["reserved-holder-wide"]),
    ("licence for another use", [HOLDER_WIDE], [lic(1, "OpenCo", {Use.AI_INPUT})], "w1",
     Use.AI_TRAIN, C, "OpenCo", "2026-01-01", False, EXCLUDE, ["reserved-holder-wide"]),
    ("licence for other works", [HOLDER_WIDE],
     [lic(1, "OpenCo", {Use.TDM}, work_ids=frozenset({"w9"}))], "w1", Use.AI_TRAIN, C,
     "OpenCo", "2026-01-01", False, EXCLUDE, ["reserved-holder-wide"]),
    ("licence research-only does not cover commercial", [HOLDER_WIDE],
     [lic(1, "OpenCo", {Use.TDM}, purposes=frozenset({R}))], "w1", Use.AI_TRAIN, C, "OpenCo",
     "2026-01-01", False, EXCLUDE, ["reserved-holder-wide"]),
    ("licence expired", [HOLDER_WIDE],
     [lic(1, "OpenCo", {Use.TDM}, valid_until=D("2025-12-31"))], "w1", Use.AI_TRAIN, C,
     "OpenCo", "2026-01-01", False, EXCLUDE, ["reserved-holder-wide", "licence-expired"]),
    ("licence revoked", [HOLDER_WIDE], [lic(1, "OpenCo", {Use.TDM}, revoked_on=D("2025-09-01"))],
     "w1", Use.AI_TRAIN, C, "OpenCo", "2026-01-01", False, EXCLUDE,
     ["reserved-holder-wide", "licence-revoked"]),
    ("licence not yet valid", [HOLDER_WIDE], [lic(1, "OpenCo", {Use.TDM}, start="2027-01-01")],
     "w1", Use.AI_TRAIN, C, "OpenCo", "2026-01-01", False, EXCLUDE,
     ["reserved-holder-wide", "licence-not-yet-in-force"]),
    ("research exception off by default", [res(1, {Use.TDM})], [], "w1", Use.AI_TRAIN, R, "Uni",
     "2026-01-01", False, EXCLUDE, ["reserved-holder-wide"]),
    ("research exception on", [res(1, {Use.TDM})], [], "w1", Use.AI_TRAIN, R, "Uni",
     "2026-01-01", True, KEEP, ["reserved-holder-wide", "research-exception"]),
    ("research exception does not apply to commercial", [res(1, {Use.TDM})], [], "w1",
     Use.AI_TRAIN, C, "Uni", "2026-01-01", True, EXCLUDE, ["reserved-holder-wide"]),
    ("holder-level decision (no work)", [HOLDER_WIDE], [], None, Use.TDM, C, "A", "2026-01-01",
     False, EXCLUDE, ["reserved-holder-wide"]),
]


@pytest.mark.parametrize(
    ("reservations", "licences", "work", "use", "purpose", "actor", "at", "research",
     "expected", "codes"),
    [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_decide(reservations: list[Reservation], licences: list[Licence], work: str | None,
                use: Use, purpose: Purpose, actor: str, at: str, research: bool,
                expected: DecisionKind, codes: list[str]) -> None:
    facts = PolicyFacts("Label", tuple(reservations), tuple(licences))
    decision = decide(facts, work_id=work, use=use, purpose=purpose, actor=actor, at=D(at),
                      research_exception=research)
    assert decision.kind is expected
    assert [r.code for r in decision.reasons] == codes


@pytest.mark.parametrize(("start", "until", "revoked", "at", "ok", "why"), [
    ("2025-01-01", None, None, "2025-01-01", True, ""),
    ("2025-01-01", None, None, "2024-12-31", False, "not-yet-in-force"),
    ("2025-01-01", "2025-02-01", None, "2025-01-31", True, ""),
    ("2025-01-01", "2025-02-01", None, "2025-02-01", False, "expired"),
    ("2025-01-01", None, "2025-03-01", "2025-03-01", False, "revoked"),
])
def test_in_force(start: str, until: str | None, revoked: str | None, at: str, ok: bool,
                  why: str) -> None:
    assert in_force(D(start), D(until) if until else None, D(revoked) if revoked else None,
                    D(at)) == (ok, why)
