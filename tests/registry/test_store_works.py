"""Catalogue maintenance in the store: works updated, re-fingerprinted, removed and restored,
with history kept (superseded fingerprints, removal dates, audit entries) and each holder
acting on its own works only."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tdmguard.errors import ConflictError, NotFoundError
from tdmguard.fingerprint.engines import get_engine
from tdmguard.registry.catalogue import sha256_file
from tdmguard.registry.store import NewWork, Registry
from tdmguard.vocab import Modality, WorkKind

LYRICS = Path(__file__).resolve().parents[2] / "src" / "tdmguard" / "demo" / "data" / "lyrics"


def _fp(name: str) -> tuple[object, str]:
    path = LYRICS / name
    return get_engine(Modality.LYRICS).extract(path), sha256_file(path)


@pytest.fixture
def reg(db_url: str) -> Registry:
    reg = Registry.open(db_url)
    reg.add_holder("Meadow")
    reg.add_holder("Other")
    fp, sha = _fp("jeanie_with_the_light_brown_hair.txt")
    reg.import_works("Meadow", [(NewWork(title="Jeanie", kind=WorkKind.LYRICS,
                                         external_id="MEA-1", extra={"label": "Meadow"}),
                                 [(fp, sha)])])  # type: ignore[list-item]
    return reg


def test_update_metadata_and_fingerprint_keeps_history(reg: Registry) -> None:
    new_fp, new_sha = _fp("der_lindenbaum.txt")
    info, changes = reg.update_work(
        "Meadow", "MEA-1",
        NewWork(title="Jeanie (2025 edit)", kind=WorkKind.LYRICS, external_id="MEA-1",
                extra={"label": "Meadow", "release_date": "2025-01-01"}),
        [(new_fp, new_sha)],  # type: ignore[list-item]
    )
    assert info.title == "Jeanie (2025 edit)"
    assert dict(info.extra) == {"label": "Meadow", "release_date": "2025-01-01"}
    assert set(changes) == {"title", "extra", "fingerprint.lyrics"}
    # The index is built from the current fingerprint only; the old one is kept, superseded.
    current = list(reg.fingerprints(Modality.LYRICS))
    assert len(current) == 1 and current[0][0] == "MEA-1"
    assert current[0][1].keys.tobytes() == new_fp.keys.tobytes()  # type: ignore[attr-defined]
    assert reg.count_fingerprints(Modality.LYRICS) == 1
    assert reg.media_digests("Meadow") == {"MEA-1": {"lyrics": new_sha}}
    actions = [e["action"] for e in reg.audit_entries()]
    assert actions[-1] == "work.update" and reg.verify().ok
    # Same values again: nothing changes, nothing is logged.
    _, again = reg.update_work("Meadow", "MEA-1", NewWork(
        title="Jeanie (2025 edit)", kind=WorkKind.LYRICS, external_id="MEA-1",
        extra={"label": "Meadow", "release_date": "2025-01-01"}), [(new_fp, new_sha)])  # type: ignore[list-item]
    assert again == {} and len(reg.audit_entries()) == len(actions)


def test_remove_and_restore(reg: Registry) -> None:
    removed = reg.remove_work("Meadow", "MEA-1", on=date(2025, 3, 1))
    assert removed.removed_on == date(2025, 3, 1)
    assert reg.list_works("Meadow") == []
    assert [w.id for w in reg.list_works("Meadow", include_removed=True)] == ["MEA-1"]
    assert list(reg.fingerprints(Modality.LYRICS)) == []
    assert reg.get_work("MEA-1").removed_on == date(2025, 3, 1)  # still there for history
    with pytest.raises(ConflictError, match="removed already"):
        reg.remove_work("Meadow", "MEA-1", on=date(2025, 3, 2))
    with pytest.raises(ConflictError, match="upsert to restore"):
        reg.add_work("Meadow", NewWork(title="Jeanie", external_id="MEA-1"))
    info, changes = reg.update_work("Meadow", "MEA-1", NewWork(
        title="Jeanie", kind=WorkKind.LYRICS, external_id="MEA-1", extra={"label": "Meadow"}))
    assert info.removed_on is None and "removed_on" in changes
    assert len(list(reg.fingerprints(Modality.LYRICS))) == 1
    assert reg.verify().ok


def test_another_holder_cannot_touch_the_work(reg: Registry) -> None:
    before = reg.get_work("MEA-1")
    with pytest.raises(NotFoundError):
        reg.remove_work("Other", "MEA-1", on=date(2025, 1, 1))
    with pytest.raises(NotFoundError):
        reg.update_work("Other", "MEA-1", NewWork(title="Mine now", external_id="MEA-1"))
    assert reg.get_work("MEA-1") == before
