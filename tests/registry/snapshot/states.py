"""Helpers for the snapshot tests: what a registry (or mirror) holds, compared as values."""

from __future__ import annotations

import hashlib
import itertools
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from tdmguard.index import HashIndex
from tdmguard.policy import PolicyFacts, decide
from tdmguard.registry.service import RegistryService
from tdmguard.registry.store import Registry
from tdmguard.registry.values import CLI_ACTOR
from tdmguard.vocab import Modality, Purpose, Use

LYRICS = [
    "the river runs below the hill where we used to sing at night\n" * 3,
    "golden morning light upon the harbour and the ships are leaving now\n" * 3,
    "a quiet song of winter roads and lanterns in the falling snow\n" * 3,
    "dancing on the rooftops while the city sleeps beneath the moon\n" * 3,
]


def folder_bytes(*roots: Path) -> dict[str, str]:
    """SHA-256 of every file under ``roots`` (byte-for-byte comparison of a mirror)."""
    out = {}
    for root in roots:
        if root.is_file():
            out[str(root)] = hashlib.sha256(root.read_bytes()).hexdigest()
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file():
                out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def index_content(index_dir: Path) -> dict[str, dict[str, list[str]]]:
    """Per modality: work id -> digests of its (keys, aux) fingerprints, whatever the
    segmentation (removed works left out)."""
    out: dict[str, dict[str, list[str]]] = {}
    for modality in Modality:
        folder = index_dir / modality.value
        if not (folder / "manifest.json").exists():
            continue
        index = HashIndex.open(folder)
        works: dict[str, list[str]] = {}
        for seg in index._segments:
            work = np.asarray(seg.work)
            for local in np.unique(work):
                wid = index.work_ids[seg.base + int(local)]
                if wid in index.removed:
                    continue
                mask = work == local
                keys = np.asarray(seg.keys)[mask]
                aux = np.asarray(seg.aux)[mask]
                order = np.lexsort((aux.T.tolist() if aux.shape[1] else []) + [keys])
                digest = hashlib.sha256(keys[order].tobytes() + aux[order].tobytes())
                works.setdefault(wid, []).append(digest.hexdigest())
        out[modality.value] = {k: sorted(v) for k, v in sorted(works.items())}
    return {k: v for k, v in out.items() if v}


def registry_content(reg: Registry) -> dict[str, Any]:
    """Holders, works (removed ones too), reservations and licences (with revocations) as
    plain JSON."""
    works = [w.to_json() for w in reg.list_works(include_removed=True)]
    for w in works:
        w.pop("fingerprints")  # a mirror keeps the index, not the fingerprint rows
    return {
        "holders": sorted((h.name, h.contact) for h in reg.list_holders()),
        "works": works,
        "reservations": [r.to_json() for r in reg.reservations()],
        "licences": [lic.to_json() for lic in reg.licences()],
    }


DATES = (date(2023, 1, 1), date(2025, 3, 1), date(2026, 1, 1), date(2027, 6, 1))
ACTORS = ("Demo AI Lab", "OpenCo", "Someone")


def all_decisions(reg: Registry) -> dict[str, Any]:
    """Every decision for every work (removed ones too) x use x purpose x actor x date
    (reasons included), as ``tdmguard decide`` gives it (the service's rule for removed
    works, then the policy)."""
    facts = reg.facts()
    service = RegistryService(reg, Path("no-index"), research_exception=False)
    out: dict[str, Any] = {}
    for w in reg.list_works(include_removed=True):
        f = facts.get(w.holder, PolicyFacts(w.holder))
        for use, purpose, actor, at in itertools.product(Use, Purpose, ACTORS, DATES):
            d = decide(f, work_id=w.id, use=use, purpose=purpose, actor=actor, at=at)
            via_service = service.decide(CLI_ACTOR, w, use=use, purpose=purpose, org=actor,
                                         at=at).decision
            if w.removed_on is None or at < w.removed_on:
                assert via_service == d
            out[f"{w.id}|{use.value}|{purpose.value}|{actor}|{at}"] = [
                via_service.kind.value, [r.to_json() for r in via_service.reasons]]
    return out
