"""C2PA / CAWG training-and-data-mining assertions (optout-protocols.md §8.2).

Both labels are read: ``cawg.training-mining`` (CAWG 1.x) and the legacy
``c2pa.training-mining`` (C2PA 1.x), with a ``.vN`` version suffix stripped; entry keys with
either prefix; ``constrained`` counts as ``notAllowed`` (CAWG: "shall be treated as
equivalent"); both the ``{"entries": {...}}`` shape and a bare entries map. A manifest whose
signature does not validate still has its restrictions honoured (fail closed), but an
unverified ``allowed`` is never read as allow.

:func:`training_mining_verdicts` is pure (it takes the manifest store as JSON);
:func:`read_c2pa` opens a file with c2pa-python (the ``c2pa`` extra).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tdmguard.vocab import Evidence, Stance, Use, Verdict, covered_uses, uses_for_label

__all__ = ["TRAINING_MINING_LABELS", "read_c2pa", "training_mining_verdicts"]

TRAINING_MINING_LABELS = ("cawg.training-mining", "c2pa.training-mining")
PARSER_VERSION = "tdmguard.signals.metadata.c2pa/1"
_VERSION_SUFFIX = re.compile(r"\.v\d+$")
_CHOICES = {"allowed": Stance.ALLOW, "notallowed": Stance.DENY, "constrained": Stance.DENY}


def _entries(data: Any) -> Mapping[str, Any] | None:
    if not isinstance(data, Mapping):
        return None
    inner = data.get("entries")
    if isinstance(inner, Mapping):
        return inner
    return data  # pre-1.1 shape: the entries map itself


def _assertion_stances(
    label: str, data: Any, *, verified: bool, problems: list[str]
) -> tuple[dict[Use, Stance], list[str]]:
    entries = _entries(data)
    if entries is None:
        problems.append(f"{label}: assertion data is not a map")
        return {}, []
    stances: dict[Use, Stance] = {}
    raw: list[str] = []
    own_prefix = label.split(".", 1)[0]
    for key, entry in entries.items():
        if key == "metadata" or not isinstance(key, str):
            continue
        prefix, _, name = key.partition(".")
        if prefix not in {"cawg", "c2pa"}:
            continue  # custom keys are allowed and carry no known meaning
        if prefix != own_prefix:
            problems.append(f"{label}: entry {key!r} uses the {prefix}. prefix (read anyway)")
        use_value = entry.get("use") if isinstance(entry, Mapping) else None
        stance = _CHOICES.get(str(use_value).lower()) if use_value is not None else None
        uses = uses_for_label("cawg", name)
        if stance is None or not uses:
            problems.append(f"{label}: entry {key!r} has an unreadable value {use_value!r}")
            continue
        raw.append(f"{key}={use_value}")
        if stance is Stance.ALLOW and not verified:
            problems.append(f"{label}: {key}=allowed ignored (manifest not validated)")
            continue
        for use in covered_uses(uses) if stance is Stance.DENY else uses:
            if stance is Stance.DENY or stances.get(use) is not Stance.DENY:
                stances[use] = stance
    return stances, raw


def training_mining_verdicts(
    store: Mapping[str, Any], *, locator: str
) -> tuple[tuple[Verdict, ...], tuple[str, ...]]:
    """Verdicts from a C2PA manifest store (c2pa-python's ``Reader.json()`` shape).

    The active manifest decides; a restriction found only in another manifest of the
    store (an ingredient's) is reported as a problem, not applied (§8.2: derived works
    inherit nothing automatically)."""
    problems: list[str] = []
    manifests = store.get("manifests")
    if not isinstance(manifests, Mapping):
        return (), ()
    active = store.get("active_manifest")
    # c2pa-rs states: Invalid < Valid (signature checks out) < Trusted (and the signer's
    # certificate chains to a trust list). Only Trusted counts as verified (§8.2).
    state = str(store.get("validation_state", "")).lower()
    statuses = store.get("validation_status") or []
    codes = [str(s.get("code")) for s in statuses if isinstance(s, Mapping)]
    verified = state == "trusted"
    if not verified:
        detail = ", ".join(codes[:3]) or "no status"
        problems.append(f"manifest not verified (state {state or 'unknown'}: {detail})")
    verdicts: list[Verdict] = []
    for urn, manifest in manifests.items():
        assertions = manifest.get("assertions", []) if isinstance(manifest, Mapping) else []
        for assertion in assertions if isinstance(assertions, list) else []:
            if not isinstance(assertion, Mapping):
                continue
            label = _VERSION_SUFFIX.sub("", str(assertion.get("label", "")))
            if label not in TRAINING_MINING_LABELS:
                continue
            stances, raw = _assertion_stances(
                label, assertion.get("data"), verified=verified, problems=problems
            )
            if urn != active:
                if any(s is Stance.DENY for s in stances.values()):
                    problems.append(
                        f"{label} restriction in non-active manifest {urn} (not applied)"
                    )
                continue
            evidence = Evidence(
                f"c2pa:{label}",
                locator,
                raw="; ".join(raw)[:300] + ("" if verified else " (unverified)"),
                parser_version=PARSER_VERSION,
            )
            verdicts.append(Verdict(f"c2pa:{label}", dict(stances), (evidence,)))
    return tuple(verdicts), tuple(f"{locator}: c2pa: {p}" for p in problems)


def read_c2pa(
    path: Path, *, trust_anchors_pem: bytes | None = None
) -> tuple[tuple[Verdict, ...], tuple[str, ...]]:
    """Open ``path``'s embedded C2PA manifest store, if any. Files without one (or of a
    format c2pa-python does not read) give nothing; errors become problems.

    ``trust_anchors_pem``: root certificates (PEM) whose signers count as trusted; without
    them c2pa-python's defaults apply."""
    try:
        import c2pa
    except ImportError:
        return (), (f"{path}: C2PA not checked (pip install 'tdmguard[c2pa]')",)
    context = None
    if trust_anchors_pem:
        trust = {
            "trust": {"trust_anchors": trust_anchors_pem.decode("ascii", "replace")},
            "verify": {"verify_trust": True},
        }
        context = c2pa.Context(c2pa.Settings.from_dict(trust))
    try:
        with c2pa.Reader(str(path), context=context) as reader:
            store = json.loads(reader.json())
    except Exception as exc:  # c2pa.C2paError subclasses, ValueError, OSError
        name = type(exc).__name__
        text = str(exc)
        if "ManifestNotFound" in name or "ManifestNotFound" in text or "NotSupported" in text:
            return (), ()
        return (), (f"{path}: unreadable C2PA manifest ({text[:200]})",)
    if not isinstance(store, Mapping):
        return (), (f"{path}: C2PA manifest store is not a JSON object",)
    return training_mining_verdicts(store, locator=str(path))
