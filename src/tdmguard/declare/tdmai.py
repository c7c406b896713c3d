"""TDM·AI usage declarations (optout-protocols.md §9; docs.tdmai.org, JSON Schema 2025-04-11,
"JSON Format for Usage Declarations" 2025-11-04), exported signed with the holder's Ed25519
key and verified against a pinned key on import.

Each declaration is exactly the TDM·AI schema's object (``additionalProperties: false``):
``version`` "1.0", ``iscc``, ``intent``, the use keys with the *strings* ``"true"`` /
``"false"``, and optional ``summary`` / ``policy``. What the schema has no room for (the
rights holder, timestamps, the work, our purposes and dates) sits beside it in a signed
envelope, as TDM·AI registries put it in the credential around the declaration:

.. code-block:: json

    {"format": "tdmguard.tdmai-declarations/1",
     "protocol": "TDM·AI usage declaration 1.0 (JSON Schema 2025-04-11)",
     "rights_holder": {"name": "...", "contact": "..."},
     "issued_at": "2026-12-03T09:30:00Z",
     "declarations": [{"declaration": {"version": "1.0", "iscc": "ISCC:...", ...},
                       "work": {"id": "...", "title": "...", "kind": "recording"},
                       "purposes": ["commercial"], "effective_from": "2026-01-01",
                       "effective_until": null, "declared_at": "2026-..."}],
     "signature": {"alg": "ed25519", "key_id": "...", "public_key": "ed25519:...",
                   "value": "<base64url>"}}

The signature covers the document without ``signature``, serialised canonically (keys
sorted, no spaces, UTF-8: RFC 8785 for this document's value types).

Vocabulary mapping (ours -> TDM·AI, docs/declare.md): a reservation of ``tdm`` writes
``all: "false"`` and, because TDM·AI calls ``ai-use`` and ``search`` independent of ``all``,
also ``ai-use`` and ``search`` ``"false"``; ``ai-train`` -> ``train-ai``; ``genai-train`` ->
``train-genai``; ``ai-input`` -> ``ai-use``; ``search`` -> ``search``. Uses not reserved are
left out (no reservation is not a permission). On import ``"false"`` keys map back through
``vocab.CROSSWALK`` (the ``tdmai`` rows); ``"true"`` keys are permissions, and narrow a
``all: "false"``: tdmguard cannot say "all mining except search", so ``all: "false"`` with
``search`` or ``ai-use`` ``"true"`` is read as the AI-training reservation only, with a
problem reported.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from tdmguard.errors import InputError, IntegrityError
from tdmguard.signing import PublicKey, SigningKey, parse_public_key
from tdmguard.vocab import Purpose, Use, covered_uses, uses_for_label

__all__ = [
    "FORMAT",
    "TDMAI_KEYS",
    "TdmAiEntry",
    "TdmAiExport",
    "canonical_json",
    "declaration_object",
    "export_declarations",
    "read_declaration_object",
    "verify_declarations",
]

FORMAT = "tdmguard.tdmai-declarations/1"
PROTOCOL = "TDM·AI usage declaration 1.0 (JSON Schema 2025-04-11)"
TDMAI_KEYS = ("all", "train-ai", "train-genai", "ai-use", "search")
_SCHEMA_KEYS = frozenset({"version", "iscc", "intent", "reference", "summary", "policy",
                          *TDMAI_KEYS})
_INTENTS = frozenset({"activate", "update", "supersede"})
# Ours -> the TDM·AI keys set to "false" for it.
_OUT: dict[Use, tuple[str, ...]] = {
    Use.TDM: ("all", "ai-use", "search"),
    Use.AI_TRAIN: ("train-ai",),
    Use.GENAI_TRAIN: ("train-genai",),
    Use.AI_INPUT: ("ai-use",),
    Use.SEARCH: ("search",),
}


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def declaration_object(
    iscc: str,
    reserved: Iterable[Use],
    *,
    intent: str = "activate",
    summary: str | None = None,
    policy: str | None = None,
) -> dict[str, str]:
    """The TDM·AI declaration for ``iscc`` reserving ``reserved`` (schema-valid)."""
    uses = frozenset(reserved)
    obj: dict[str, str] = {"version": "1.0", "iscc": iscc, "intent": intent}
    for use in uses:
        for key in _OUT[use]:
            obj[key] = "false"
    if summary:
        obj["summary"] = summary
    if policy:
        obj["policy"] = policy
    return obj


def read_declaration_object(
    obj: Any, *, where: str
) -> tuple[str, frozenset[Use], tuple[str, ...]]:
    """Validate one TDM·AI declaration against the 2025-04-11 schema and read it:
    ``(iscc, reserved uses, problems)``. Schema violations raise :class:`InputError`."""
    if not isinstance(obj, Mapping):
        raise InputError("a TDM·AI declaration is a JSON object", where=where)
    extra = sorted(set(obj) - _SCHEMA_KEYS)
    if extra:
        raise InputError(f"members not in the TDM·AI schema: {', '.join(extra)}", where=where)
    for required in ("version", "iscc", "intent"):
        if not isinstance(obj.get(required), str):
            raise InputError(f"{required!r} is required and a string", where=where)
    if obj["version"] != "1.0":
        raise InputError(f"version {obj['version']!r} is not 1.0", where=where)
    if obj["intent"] not in _INTENTS:
        raise InputError(f"intent {obj['intent']!r} is not one of {sorted(_INTENTS)}",
                         where=where)
    if not str(obj["iscc"]).startswith("ISCC:"):
        raise InputError("iscc must start with 'ISCC:'", where=f"{where}.iscc")
    values: dict[str, bool] = {}
    for key in TDMAI_KEYS:
        if key not in obj:
            continue
        value = obj[key]
        if value not in ("true", "false"):  # JSON booleans are schema-invalid (§9)
            raise InputError(f"{key!r} must be the string \"true\" or \"false\", not "
                             f"{json.dumps(value)}", where=f"{where}.{key}")
        values[key] = value == "true"
    problems: list[str] = []
    reserved: set[Use] = set()
    for key, allowed in values.items():
        if not allowed:
            reserved |= uses_for_label("tdmai", key)
    if Use.TDM in reserved and values.get("all") is False:
        permitted = [k for k in ("ai-use", "search") if values.get(k) is True]
        if permitted:
            reserved.discard(Use.TDM)
            reserved |= {Use.AI_TRAIN}
            if values.get("ai-use") is not True:
                reserved.add(Use.AI_INPUT)
            if values.get("search") is not True:
                reserved.add(Use.SEARCH)
            problems.append(
                f"all=false with {', '.join(permitted)}=true: read as reserving"
                f" {', '.join(sorted(u.value for u in reserved))}"
                " (tdmguard cannot express 'all mining except these')"
            )
    return str(obj["iscc"]), _minimal(reserved), tuple(problems)


def _minimal(uses: Iterable[Use]) -> frozenset[Use]:
    """Drop the uses another one of the set already covers (tdm covers all, ai-train
    genai-train), so an exported reservation reads back as the same set."""
    given = frozenset(uses)
    return frozenset(
        u for u in given if not any(u in covered_uses(frozenset({o})) for o in given - {u})
    )


@dataclass(frozen=True, slots=True)
class TdmAiEntry:
    """One reservation bound to one work's ISCC."""

    iscc: str
    reserved: frozenset[Use]
    effective_from: date
    work_id: str = ""
    title: str = ""
    kind: str = ""
    purposes: frozenset[Purpose] = frozenset()
    effective_until: date | None = None
    declared_at: str | None = None
    policy: str | None = None
    problems: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        summary = "Reserved under Art. 4(3) Directive (EU) 2019/790: " + ", ".join(
            sorted(u.value for u in covered_uses(self.reserved))
        )
        return {
            "declaration": declaration_object(
                self.iscc, self.reserved, summary=summary, policy=self.policy or "CDSM Art. 4(3)"
            ),
            "work": {"id": self.work_id, "title": self.title, "kind": self.kind},
            "purposes": sorted(p.value for p in self.purposes),
            "effective_from": self.effective_from.isoformat(),
            "effective_until": self.effective_until.isoformat() if self.effective_until else None,
            "declared_at": self.declared_at,
        }


@dataclass(frozen=True, slots=True)
class TdmAiExport:
    """A verified declarations document."""

    holder: str
    contact: str | None
    issued_at: str
    entries: tuple[TdmAiEntry, ...]
    signer: PublicKey
    digest: str  # SHA-256 of the signed bytes: the source recorded on import
    problems: tuple[str, ...] = field(default=())


def export_declarations(
    holder: str,
    entries: Sequence[TdmAiEntry],
    key: SigningKey,
    *,
    contact: str | None = None,
    issued_at: datetime | None = None,
) -> bytes:
    """The signed declarations document (UTF-8 JSON, indented, newline-terminated)."""
    when = (issued_at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    doc: dict[str, Any] = {
        "format": FORMAT,
        "protocol": PROTOCOL,
        "rights_holder": {"name": holder, "contact": contact},
        "issued_at": when.isoformat().replace("+00:00", "Z"),
        "declarations": [e.to_json() for e in entries],
    }
    signature = key.sign(canonical_json(doc))
    doc["signature"] = key.public.to_json() | {"value": signature}
    return (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode()


def _date(value: Any, where: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise InputError(f"not a date: {value!r}", where=where) from exc


def _entry(item: Any, where: str) -> TdmAiEntry:
    if not isinstance(item, Mapping):
        raise InputError("a declaration entry is a JSON object", where=where)
    iscc, reserved, problems = read_declaration_object(
        item.get("declaration"), where=f"{where}.declaration"
    )
    raw_work = item.get("work")
    work: Mapping[str, Any] = raw_work if isinstance(raw_work, Mapping) else {}
    try:
        purposes = frozenset(Purpose(p) for p in item.get("purposes") or [])
    except ValueError as exc:
        raise InputError(f"unknown purpose: {exc}", where=f"{where}.purposes") from exc
    start = _date(item.get("effective_from"), f"{where}.effective_from")
    if start is None:
        raise InputError("effective_from is required", where=f"{where}.effective_from")
    policy = item["declaration"].get("policy")
    return TdmAiEntry(
        iscc=iscc,
        reserved=reserved,
        effective_from=start,
        work_id=str(work.get("id") or ""),
        title=str(work.get("title") or ""),
        kind=str(work.get("kind") or ""),
        purposes=purposes,
        effective_until=_date(item.get("effective_until"), f"{where}.effective_until"),
        declared_at=str(item["declared_at"]) if item.get("declared_at") else None,
        policy=str(policy) if policy else None,
        problems=problems,
    )


def verify_declarations(data: bytes, pinned: PublicKey, *, where: str) -> TdmAiExport:
    """Parse a declarations document and verify its signature against ``pinned``.

    :class:`IntegrityError` when the signature is missing, made by another key, or does not
    cover the content (anything changed after signing); :class:`InputError` when the
    document is not JSON or not of this format."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"not a JSON document: {exc}", where=where) from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(f"not a {FORMAT} document", where=where)
    sig = doc.pop("signature", None)
    if not isinstance(sig, Mapping) or not isinstance(sig.get("value"), str):
        raise IntegrityError("the document is not signed", where=where)
    claimed = sig.get("public_key")
    if isinstance(claimed, str) and parse_public_key(claimed, where=where) != pinned:
        raise IntegrityError(
            f"signed by key {parse_public_key(claimed, where=where).key_id}, not the pinned"
            f" key {pinned.key_id}",
            where=where,
        )
    signed = canonical_json(doc)
    pinned.verify(signed, sig["value"], where=where)
    holder = doc.get("rights_holder")
    if not isinstance(holder, Mapping) or not isinstance(holder.get("name"), str):
        raise InputError("rights_holder.name is required", where=where)
    items = doc.get("declarations")
    if not isinstance(items, list):
        raise InputError("declarations must be a list", where=where)
    entries = tuple(_entry(item, f"{where}: declarations[{i}]") for i, item in enumerate(items))
    contact = holder.get("contact")
    return TdmAiExport(
        holder=holder["name"],
        contact=str(contact) if contact else None,
        issued_at=str(doc.get("issued_at", "")),
        entries=entries,
        signer=pinned,
        digest=hashlib.sha256(signed).hexdigest(),
        problems=tuple(p for e in entries for p in e.problems),
    )
