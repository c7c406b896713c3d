"""The service layer: authorisation scoped to the acting holder, audit entries naming the
actor, serialised writers, and an index that concurrent writers and readers share."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import pytest

from tdmguard.config import Settings
from tdmguard.demo import demo_data_dir
from tdmguard.errors import InputError, NotFoundError, PermissionDeniedError
from tdmguard.index.hash_index import HashIndex
from tdmguard.registry.matching import index_folder
from tdmguard.registry.service import RegistryService
from tdmguard.registry.store import NewWork
from tdmguard.registry.values import CLI_ACTOR, Actor, Scope
from tdmguard.vocab import DecisionKind, Modality, Purpose, Use

LYRICS = demo_data_dir() / "lyrics"
SONGS = sorted(p for p in LYRICS.iterdir() if p.is_file())


@pytest.fixture
def service(db_url: str, tmp_path: Path) -> RegistryService:
    svc = RegistryService.open(Settings(db_url, tmp_path / "index"), create=True)
    svc.add_holder(CLI_ACTOR, "A")
    svc.add_holder(CLI_ACTOR, "B")
    return svc


def _key(svc: RegistryService, holder: str | None, scope: Scope) -> Actor:
    _, key = svc.create_api_key(CLI_ACTOR, name=f"{holder}-{scope}", scope=scope, holder=holder)
    return svc.authenticate(key)


def test_mutations_are_scoped_to_the_acting_holder(service: RegistryService) -> None:
    a, b = _key(service, "A", Scope.WRITE), _key(service, "B", Scope.WRITE)
    reader = _key(service, None, Scope.READ)
    assert a.holder == "A" and a.key_id is not None
    work = service.register_work(a, None, NewWork(title="Song", external_id="A-1"))
    assert work.holder == "A"
    with pytest.raises(PermissionDeniedError):
        service.register_work(a, "B", NewWork(title="x"))
    with pytest.raises(PermissionDeniedError):
        service.register_work(reader, None, NewWork(title="x"))
    with pytest.raises(PermissionDeniedError):
        service.add_holder(a, "C")
    res = service.reserve(a, None, uses=[Use.AI_TRAIN], effective_from=date(2025, 1, 1))
    lic = service.grant_licence(a, None, licensee="Lab", uses=[Use.AI_TRAIN],
                                valid_from=date(2025, 1, 1))
    with pytest.raises(PermissionDeniedError):
        service.revoke_reservation(b, res.id, on=date(2025, 6, 1))
    with pytest.raises(PermissionDeniedError):
        service.revoke_licence(b, lic.id, on=date(2025, 6, 1))
    with pytest.raises(PermissionDeniedError):
        service.revoke_reservation(reader, res.id, on=date(2025, 6, 1))
    with pytest.raises(PermissionDeniedError):  # the CLI naming the wrong owner
        service.revoke_reservation(CLI_ACTOR, res.id, on=date(2025, 6, 1), holder="B")
    with pytest.raises(NotFoundError):
        service.revoke_reservation(a, 999, on=date(2025, 6, 1))
    assert service.list_reservations(reader)[0].revoked_on is None  # unchanged
    with pytest.raises(PermissionDeniedError):
        service.list_licences(reader)
    assert service.list_licences(b) == []
    assert service.show_work(reader, "A-1").licences == ()
    assert [x.id for x in service.show_work(a, "A-1").licences] == [lic.id]
    service.revoke_reservation(a, res.id, on=date(2025, 6, 1))
    assert service.list_reservations(reader)[0].revoked_on == date(2025, 6, 1)
    # the audit log names who acted, with the key id
    entries = service.audit_entries(CLI_ACTOR)
    last = entries[-1]
    assert last["action"] == "reservation.revoke"
    assert last["payload"]["by"] == {"name": a.name, "holder": "A", "key": a.key_id}
    assert entries[0]["payload"]["by"]["name"] == "cli"
    assert service.verify(CLI_ACTOR).ok


def test_decide_by_id_isrc_and_cache_follows_changes(service: RegistryService) -> None:
    a = _key(service, "A", Scope.WRITE)
    reader = _key(service, None, Scope.READ)
    service.register_work(a, None, NewWork(title="S", external_id="A-1", isrc="GBAYE2500001"))
    work = service.find_work(reader, isrc="GB-AYE-25-00001")
    assert work.id == "A-1"
    kw = {"use": Use.AI_TRAIN, "purpose": Purpose.COMMERCIAL, "org": "Lab",
          "at": date(2025, 3, 1)}
    assert service.decide(reader, work, **kw).decision.kind is DecisionKind.KEEP  # type: ignore[arg-type]
    res = service.reserve(a, None, uses=[Use.TDM], effective_from=date(2025, 1, 1))
    assert service.decide(reader, work, **kw).decision.kind is DecisionKind.EXCLUDE  # type: ignore[arg-type]
    service.revoke_reservation(a, res.id, on=date(2025, 2, 1))
    assert service.decide(reader, work, **kw).decision.kind is DecisionKind.KEEP  # type: ignore[arg-type]
    with pytest.raises(InputError):
        service.find_work(reader, work="A-1", isrc="GBAYE2500001")
    with pytest.raises(NotFoundError):
        service.find_work(reader, iswc="T0000000010")


def test_revoked_key_is_refused_at_once(service: RegistryService) -> None:
    from tdmguard.errors import AuthenticationError

    info, key = service.create_api_key(CLI_ACTOR, name="k", scope=Scope.READ)
    assert service.authenticate(key).scope is Scope.READ
    service.revoke_api_key(CLI_ACTOR, info.id)
    for bad in (key, key + "x", "tdm_nope_nope", "garbage", ""):
        with pytest.raises(AuthenticationError):
            service.authenticate(bad)
    assert [k.revoked_at is not None for k in service.list_api_keys(CLI_ACTOR)] == [True]


def test_concurrent_writers_keep_one_chain(service: RegistryService) -> None:
    """Threads writing at once: every write lands once and the chain verifies (SQLite: BEGIN
    IMMEDIATE; PostgreSQL: the advisory lock); no unique violation reaches a caller."""
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(5):
                service.register_work(CLI_ACTOR, "A", NewWork(title=f"t{n}-{i}"))
                service.reserve(CLI_ACTOR, "B", uses=[Use.TDM], effective_from=date(2025, 1, 1))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(service.list_works(CLI_ACTOR)) == 40
    assert len(service.list_reservations(CLI_ACTOR)) == 40
    result = service.verify(CLI_ACTOR)
    assert result.ok and result.entries == 2 + 80


def test_index_appends_concurrently_readers_see_them_and_build_repairs(
    service: RegistryService, tmp_path: Path
) -> None:
    errors: list[BaseException] = []

    def register(path: Path) -> None:
        try:
            service.register_work(CLI_ACTOR, "A", NewWork(title=path.stem, external_id=path.stem),
                                  [(Modality.LYRICS, path)])
        except BaseException as exc:
            errors.append(exc)

    first = SONGS[0]
    register(first)
    matcher = service.matcher(Modality.LYRICS)
    assert matcher is not None
    assert [m.work_id for m in matcher.identify_path(first)] == [first.stem]
    threads = [threading.Thread(target=register, args=(p,)) for p in SONGS[1:]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    folder = index_folder(service.index_dir, Modality.LYRICS)
    assert HashIndex.stored_work_ids(folder) == {p.stem for p in SONGS}
    # the same long-lived matcher sees the new segments without being reopened by hand
    last = SONGS[-1]
    assert last.stem in [m.work_id for m in matcher.identify_path(last)]
    # a crash between the commit and the index append: the work is in the registry only
    service.registry.import_works("A", [(NewWork(title="lost", external_id="LOST"),
                                         _fps(service, first))])
    assert "LOST" not in HashIndex.stored_work_ids(folder)
    service.build_index(CLI_ACTOR, [Modality.LYRICS])
    assert HashIndex.stored_work_ids(folder) == {p.stem for p in SONGS} | {"LOST"}
    assert {m.work_id for m in matcher.identify_path(first)} >= {first.stem, "LOST"}


def _fps(service: RegistryService, path: Path) -> list[tuple[object, str]]:
    from tdmguard.registry.catalogue import fingerprint_media

    return fingerprint_media([(Modality.LYRICS, path)])  # type: ignore[return-value]


def test_catalogue_works_get_an_iscc_that_an_unchanged_upsert_keeps(
    service: RegistryService, tmp_path: Path
) -> None:
    pytest.importorskip("iscc_core")
    import shutil

    from tdmguard.registry.catalogue_import import ImportMode, RowAction

    shutil.copyfile(SONGS[0], tmp_path / SONGS[0].name)
    catalogue = tmp_path / "cat.csv"
    catalogue.write_text(f"id,title,kind,lyrics\nsong1,Song,lyrics,{SONGS[0].name}\n")
    (work,) = service.import_catalogue(CLI_ACTOR, "A", catalogue)
    assert work.iscc and work.iscc.startswith("ISCC:")
    report = service.import_catalogue_report(CLI_ACTOR, "A", catalogue, mode=ImportMode.UPSERT)
    assert [o.action for o in report.outcomes] == [RowAction.SKIP]
    assert service.get_work(CLI_ACTOR, "song1").iscc == work.iscc


def test_licence_and_key_entries_of_the_audit_log_are_the_holders_business(
        service: RegistryService) -> None:
    a, b = _key(service, "A", Scope.WRITE), _key(service, "B", Scope.WRITE)
    reader = _key(service, None, Scope.READ)
    lic = service.grant_licence(a, None, licensee="Secret Lab", uses=[Use.AI_TRAIN],
                                valid_from=date(2025, 1, 1))
    service.revoke_licence(a, lic.id, on=date(2025, 6, 1))
    service.reserve(b, None, uses=[Use.TDM], effective_from=date(2025, 1, 1))

    def actions(actor: Actor, **kw: int) -> list[str]:
        return [str(e["action"]) for e in service.audit_entries(actor, **kw)]

    everything = actions(CLI_ACTOR)
    assert {"licence.grant", "licence.revoke", "apikey.create"} <= set(everything)
    seen_by_reader = actions(reader)
    assert not any(x.startswith(("licence.", "apikey.")) for x in seen_by_reader)
    assert "reservation.add" in seen_by_reader and "holder.add" in seen_by_reader
    assert {"licence.grant", "licence.revoke"} <= set(actions(a))  # its own licence
    assert not any(x.startswith("licence.") for x in actions(b))   # not A's
    assert actions(a).count("apikey.create") == 1                  # only A's key
    # paging still fills a page when hidden entries come between visible ones
    page = service.audit_entries(reader, limit=2)
    assert len(page) == 2
    rest = service.audit_entries(reader, after_seq=int(page[-1]["seq"]))
    assert [e["seq"] for e in page + rest] == [e["seq"] for e in service.audit_entries(reader)]
