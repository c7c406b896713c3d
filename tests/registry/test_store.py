from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import inspect

from tdmguard.errors import ConflictError, InputError, NotFoundError, RegistryError
from tdmguard.policy import decide
from tdmguard.registry.store import NewWork, Registry
from tdmguard.registry.tables import Base
from tdmguard.vocab import DecisionKind, Purpose, Use, WorkKind


def test_holders_works_and_ids(db_url: str) -> None:
    reg = Registry.open(db_url)
    holder = reg.add_holder("Aurora Records", contact="licensing@aurora.example")
    assert reg.get_holder("Aurora Records") == holder
    assert reg.get_holder(str(holder.id)) == holder
    with pytest.raises(ConflictError):
        reg.add_holder("Aurora Records")
    w1 = reg.add_work("Aurora Records", NewWork(title="Song", isrc="us-s1z-99-00001",
                                                external_id="AUR-1", artists=["A", " B "]))
    w2 = reg.add_work(str(holder.id), NewWork(title="Other", kind=WorkKind.LYRICS))
    assert w1.id == "AUR-1" and w1.isrc == "USS1Z9900001" and w1.artists == ("A", "B")
    assert w2.id.startswith("W") and w2.kind is WorkKind.LYRICS
    assert [w.id for w in reg.list_works("Aurora Records")] == ["AUR-1", w2.id]
    with pytest.raises(ConflictError):
        reg.add_work("Aurora Records", NewWork(title="Dup", external_id="AUR-1"))
    with pytest.raises(NotFoundError):
        reg.get_work("nope")
    with pytest.raises(NotFoundError):
        reg.add_work("Nobody", NewWork(title="x"))


def test_add_works_is_atomic(db_url: str) -> None:
    reg = Registry.open(db_url)
    reg.add_holder("H")
    with pytest.raises(ConflictError):
        reg.add_works("H", [NewWork(title="a", external_id="X"), NewWork(title="b",
                                                                         external_id="X")])
    assert reg.list_works() == []
    assert reg.verify().entries == 1  # only the holder; the failed import left no entry


@pytest.mark.parametrize(("field", "value"), [("isrc", "XYZ"), ("iswc", "T-12"),
                                             ("upc", "12ab"), ("title", "  ")])
def test_new_work_validation_names_the_field(field: str, value: str) -> None:
    kwargs = {"title": "ok", field: value}
    with pytest.raises(InputError) as err:
        NewWork(**kwargs, where="cat.csv:3")  # type: ignore[arg-type]
    assert err.value.where is not None and field in err.value.where
    assert "cat.csv:3" in err.value.where


def test_reservations_licences_revocations_and_facts(db_url: str) -> None:
    reg = Registry.open(db_url)
    reg.add_holder("L")
    reg.add_work("L", NewWork(title="t", external_id="L-1"))
    r = reg.reserve("L", uses=[Use.TDM], effective_from=date(2025, 1, 1),
                    purposes=[Purpose.COMMERCIAL], declared_at="https://l.example/tdm")
    lic = reg.grant_licence("L", licensee="OpenCo", uses=[Use.AI_TRAIN],
                            valid_from=date(2025, 3, 1), work_ids=["L-1"])
    facts = reg.facts()["L"]
    kw = {"work_id": "L-1", "use": Use.AI_TRAIN, "purpose": Purpose.COMMERCIAL}
    assert decide(facts, actor="OpenCo", at=date(2025, 4, 1), **kw).kind is DecisionKind.KEEP
    assert decide(facts, actor="Else", at=date(2025, 4, 1), **kw).kind is DecisionKind.EXCLUDE
    reg.revoke("licence", lic.id, on=date(2025, 6, 1))
    facts = reg.facts()["L"]
    assert decide(facts, actor="OpenCo", at=date(2025, 5, 31), **kw).kind is DecisionKind.KEEP
    assert decide(facts, actor="OpenCo", at=date(2025, 6, 1), **kw).kind is \
        DecisionKind.EXCLUDE
    reg.revoke("reservation", r.id, on=date(2026, 1, 1))
    assert decide(reg.facts()["L"], actor="Else", at=date(2026, 2, 1), **kw).kind is \
        DecisionKind.KEEP
    # History is kept: the original entries are unchanged.
    assert reg.reservations()[0].effective_from == date(2025, 1, 1)
    assert reg.reservations()[0].revoked_on == date(2026, 1, 1)
    with pytest.raises(NotFoundError):
        reg.revoke("licence", 999, on=date(2026, 1, 1))
    with pytest.raises(InputError):
        reg.reserve("L", uses=[], effective_from=date(2025, 1, 1))
    with pytest.raises(InputError):
        reg.reserve("L", uses=[Use.TDM], effective_from=date(2025, 1, 1),
                    effective_until=date(2024, 1, 1))
    with pytest.raises(NotFoundError):
        reg.reserve("L", uses=[Use.TDM], effective_from=date(2025, 1, 1), work_ids=["nope"])
    assert reg.verify().ok


def test_migration_matches_the_models(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    reg = Registry.open(db_url)
    with reg.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert set(inspect(reg.engine).get_table_names()) >= set(Base.metadata.tables)


def test_schema_head_is_the_newest_migration() -> None:
    # Registry.check_schema compares with SCHEMA_HEAD instead of parsing the scripts
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from tdmguard.registry import store

    cfg = Config()
    cfg.set_main_option("script_location", str(store._MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == store.SCHEMA_HEAD


def test_open_refuses_an_older_schema_and_names_both_revisions(db_url: str) -> None:
    from sqlalchemy import text

    reg = Registry.open(db_url)
    with reg.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0004_catalogue'"))
    reg.close()
    with pytest.raises(RegistryError, match="at 0004_catalogue, tdmguard needs 0005"):
        Registry.open(db_url, create=False)


def test_opening_a_registry_does_not_load_alembic(tmp_path: Path) -> None:
    import subprocess
    import sys

    db = f"sqlite:///{tmp_path}/r.db"
    Registry.open(db).close()
    code = (
        "import sys\n"
        "from tdmguard.registry.store import Registry\n"
        f"Registry.open({db!r}, create=False).close()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_open_missing_sqlite_without_create(tmp_path: object) -> None:
    with pytest.raises(RegistryError, match="registry init"):
        Registry.open(f"sqlite:///{tmp_path}/absent.db", create=False)


def test_unreachable_database_is_a_clear_error() -> None:
    with pytest.raises(RegistryError) as err:
        Registry.open("postgresql+psycopg://u:secret@127.0.0.1:1/none")
    assert "secret" not in str(err.value)
