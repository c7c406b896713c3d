"""What a holder's declaration bundle publishes, read from the registry: the reservations
in force on a day (begun, not ended, not revoked by then, not exemptions: the same
rule as ``decide``), the uses and purposes they
reserve, the works they cover, and the audit head to pin. The ``declare`` package turns
these plain values into the bundle; the CLI (``tdmguard declare``) and the web app both
start here, so they publish the same thing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tdmguard.errors import NotFoundError
from tdmguard.policy import in_force
from tdmguard.registry.store import Registry
from tdmguard.registry.values import WorkInfo
from tdmguard.vocab import Purpose, Use

__all__ = ["DeclarationFacts", "declaration_facts"]


@dataclass(frozen=True, slots=True)
class DeclarationFacts:
    holder: str
    contact: str | None  # the holder's contact when it is an e-mail address
    uses: frozenset[Use]
    purposes: frozenset[Purpose]
    effective_from: date
    works: tuple[WorkInfo, ...]
    head_seq: int
    head_hash: str
    content_digest: str
    holder_wide: bool = True  # False: every reservation in force names its works


def declaration_facts(registry: Registry, holder: str, *, at: date) -> DeclarationFacts:
    """The facts of ``holder``'s declaration on ``at``; :class:`NotFoundError` when no
    reservation is in force. The works listed are every work of the holder when a
    reservation is holder-wide, else the works the reservations name."""
    info = registry.get_holder(holder)
    active = [
        r
        for r in registry.reservations(info.name)
        if not r.exempt and in_force(r.effective_from, r.effective_until, r.revoked_on, at)[0]
    ]
    if not active:
        raise NotFoundError(
            f"holder {info.name!r} has no reservation in force: run `tdmguard reserve` first",
            where="holder",
        )
    holder_wide = any(not r.work_ids for r in active)
    named = {w for r in active for w in r.work_ids}
    seq, digest = registry.head()
    return DeclarationFacts(
        holder=info.name,
        contact=info.contact if info.contact and "@" in info.contact else None,
        uses=frozenset(u for r in active for u in r.uses),
        purposes=frozenset(p for r in active for p in (r.purposes or tuple(Purpose))),
        effective_from=min(r.effective_from for r in active),
        works=tuple(w for w in registry.list_works(info.name) if holder_wide or w.id in named),
        head_seq=seq,
        head_hash=digest,
        content_digest=registry.content_digest(),
        holder_wide=holder_wide,
    )
