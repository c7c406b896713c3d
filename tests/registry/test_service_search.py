"""The service's catalogue queries (used by the web pages, ``GET /v1/works`` and ``work
list --search``): search with paging and a total done in SQL, the catalogue summary, the
reserved works of a page, and a work's history filtered by its id; on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from tdmguard.config import Settings
from tdmguard.errors import InputError, PermissionDeniedError
from tdmguard.registry.service import RegistryService
from tdmguard.registry.store import NewWork
from tdmguard.registry.values import CLI_ACTOR, Actor, Scope
from tdmguard.vocab import Use


@pytest.fixture
def service(db_url: str, tmp_path: Path) -> RegistryService:
    svc = RegistryService.open(Settings(db_url, tmp_path / "index"), create=True)
    for name in ("A", "B"):
        svc.add_holder(CLI_ACTOR, name)
    for i in range(30):
        svc.registry.add_work("A", NewWork(
            title=f"Song {i:02d}" if i != 7 else "Ébène 100%_done",
            artists=["BJÖRK"] if i == 3 else ["Band"],
            isrc=f"GBAYE24{i:05d}", external_id=f"A-{i:02d}"))
    svc.registry.add_work("B", NewWork(title="Song of B", external_id="B-1"))
    return svc


def _key(svc: RegistryService, holder: str | None, scope: Scope) -> Actor:
    _, key = svc.create_api_key(CLI_ACTOR, name=f"{holder}-{scope}", scope=scope, holder=holder)
    return svc.authenticate(key)


def test_search_pages_and_counts_in_sql(service: RegistryService) -> None:
    page = service.search_works(CLI_ACTOR, "A", "song", limit=10, offset=20)
    assert page.total == 29 and [w.id for w in page.works] == [f"A-{i}" for i in range(21, 30)]
    assert service.search_works(CLI_ACTOR, None, "song").total == 30  # B's too
    assert service.search_works(CLI_ACTOR, "B", "").total == 1
    # every word must match some field; case-insensitive beyond ASCII
    assert [w.id for w in service.search_works(CLI_ACTOR, None, "ébène").works] == ["A-07"]
    assert [w.id for w in service.search_works(CLI_ACTOR, None, "ÉBÈNE").works] == ["A-07"]
    assert [w.id for w in service.search_works(CLI_ACTOR, None, "björk song").works] == ["A-03"]
    # artists (stored as JSON text) fold non-ASCII letters too
    assert [w.id for w in service.search_works(CLI_ACTOR, None, "BJÖRK").works] == ["A-03"]
    assert [w.id for w in service.search_works(CLI_ACTOR, None, "jörk").works] == ["A-03"]
    assert service.search_works(CLI_ACTOR, None, "björk ébène").total == 0
    # LIKE's wildcards are plain characters
    assert [w.id for w in service.search_works(CLI_ACTOR, None, "100%_").works] == ["A-07"]
    assert service.search_works(CLI_ACTOR, None, "%").total == 1
    # identifiers with or without their hyphens, and ids
    assert [w.id for w in service.search_works(CLI_ACTOR, None, "gb-aye-24-00012").works] \
        == ["A-12"]
    assert [w.id for w in service.search_works(CLI_ACTOR, None, "a-2").works] == [
        f"A-{i}" for i in range(20, 30)]
    with pytest.raises(InputError):
        service.search_works(CLI_ACTOR, None, "", limit=-1)


def test_removed_works_are_not_listed(service: RegistryService) -> None:
    service.remove_work(CLI_ACTOR, "A", "A-05")
    assert service.search_works(CLI_ACTOR, "A", "").total == 29
    assert "A-05" not in {w.id for w in service.search_works(CLI_ACTOR, "A", "").works}


def test_summary_and_reserved_works_follow_reservations_in_force(
    service: RegistryService,
) -> None:
    a = _key(service, "A", Scope.WRITE)
    today = date.today()
    assert service.catalogue_summary(a, "A")["audio"] == (0, 0)  # no fingerprints
    res = service.reserve(a, None, uses=[Use.AI_TRAIN], effective_from=today,
                          work_ids=["A-01", "A-02"])
    service.reserve(a, None, uses=[Use.TDM], effective_from=today + timedelta(days=5))
    works = service.search_works(a, "A", "", limit=5).works
    assert service.reserved_works(a, works) == {"A-01", "A-02"}
    assert service.reserved_works(a, works, on=today + timedelta(days=6)) == {
        w.id for w in works}
    service.revoke_reservation(a, res.id, on=today)
    assert service.reserved_works(a, works) == set()


def test_history_is_filtered_by_the_work_and_scoped_to_its_holder(
    service: RegistryService,
) -> None:
    a, b = _key(service, "A", Scope.WRITE), _key(service, "B", Scope.WRITE)
    reader = _key(service, None, Scope.READ)
    day = date(2025, 1, 1)
    one = service.reserve(a, None, uses=[Use.AI_TRAIN], effective_from=day, work_ids=["A-01"])
    service.reserve(a, None, uses=[Use.AI_TRAIN], effective_from=day, work_ids=["A-10"])
    wide = service.grant_licence(a, None, licensee="Lab", uses=[Use.AI_TRAIN], valid_from=day)
    service.reserve(b, None, uses=[Use.TDM], effective_from=day)  # B's: not A-01's
    service.revoke_reservation(a, one.id, on=day + timedelta(days=1))
    service.revoke_licence(a, wide.id, on=day + timedelta(days=2))
    history = service.work_history(a, "A-01")
    assert [h["action"] for h in history] == [
        "work.add", "reservation.add", "licence.grant", "reservation.revoke", "licence.revoke"]
    assert history[1]["payload"]["id"] == one.id and history[3]["payload"]["entry"] == one.id
    assert [h["seq"] for h in history] == sorted(h["seq"] for h in history)
    # A-10 shares "A-1" as a prefix of its id but not its history
    assert [h["action"] for h in service.work_history(a, "A-10")] == [
        "work.add", "reservation.add", "licence.grant", "licence.revoke"]
    assert service.work_history(CLI_ACTOR, "A-01") == history
    for other in (b, reader):
        with pytest.raises(PermissionDeniedError):
            service.work_history(other, "A-01")
