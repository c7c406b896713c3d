"""Importing declared reservations: holder and work created when missing, found by ISCC
when present, source recorded, a second import adds nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tdmguard.registry.declarations import DeclaredReservation, import_declared_reservations
from tdmguard.registry.store import NewWork, Registry
from tdmguard.vocab import Purpose, Use

ISCC = "ISCC:KEC7VSV5QH7FTV7N5YVD5UMF4TUKFFGDGCOI4UDFKE4FNPW6C3L7J2Y"


def test_import_creates_then_reuses(db_url: str) -> None:
    reg = Registry.open(db_url)
    item = DeclaredReservation(
        iscc=ISCC, uses=frozenset({Use.AI_TRAIN}), effective_from=date(2026, 1, 1),
        source="tdmai:f.json#0 sha256:ab", purposes=frozenset({Purpose.COMMERCIAL}),
        work_id="w1", title="Awakening", kind="recording",
    )  # fmt: skip
    first = import_declared_reservations(reg, "Example Music", [item], contact="a@b.example")
    assert first.works_added == ("w1",)
    (res,) = first.reservations
    assert res.work_ids == ("w1",) and res.declared_at == "tdmai:f.json#0 sha256:ab"
    assert reg.get_work("w1").iscc == ISCC
    again = import_declared_reservations(reg, "Example Music", [item])
    assert again.already_present == 1 and not again.reservations
    # A work registered by the holder with the same ISCC is the one reserved.
    reg.add_holder("Other Label")
    reg.add_work("Other Label", NewWork(title="X", iscc=ISCC, external_id="x1"))
    other = import_declared_reservations(reg, "Other Label", [item])
    assert other.works_added == () and other.reservations[0].work_ids == ("x1",)
    reg.close()


def test_only_an_admin_may_import_declarations(tmp_path: Path) -> None:
    from tdmguard.errors import PermissionDeniedError
    from tdmguard.registry.service import RegistryService
    from tdmguard.registry.values import CLI_ACTOR, Actor, Scope

    service = RegistryService(
        Registry.open(f"sqlite:///{tmp_path / 'r.db'}"), tmp_path / "idx",
        research_exception=False,
    )  # fmt: skip
    item = DeclaredReservation(iscc=ISCC, uses=frozenset({Use.TDM}),
                               effective_from=date(2026, 1, 1), source="s")  # fmt: skip
    with pytest.raises(PermissionDeniedError):
        service.import_declarations(Actor("k", Scope.WRITE, "H"), "H", [item])
    result = service.import_declarations(CLI_ACTOR, "H", [item])
    assert result.reservations[0].declared_at == "s"
    service.close()
