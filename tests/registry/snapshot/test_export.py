"""Export: what a snapshot holds, deltas, one holder's part, and a property test over random
registries (registry/snapshot/export.py)."""

from __future__ import annotations

import json
import tempfile
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tdmguard.errors import InputError, IntegrityError, NotFoundError
from tdmguard.registry.snapshot import export_snapshot, registry_id
from tdmguard.registry.snapshot.manifest import MANIFEST, SIGNATURE, verify_manifest
from tdmguard.registry.store import NewWork, Registry
from tdmguard.signing import generate_signing_key
from tdmguard.vocab import Purpose, Use

from .states import all_decisions, index_content, registry_content
from .test_apply import Mirror, build_source, grow

KEY = generate_signing_key()


def test_snapshot_holds_public_tables_index_and_a_signed_manifest(tmp_path: Path) -> None:
    reg, _ = build_source(tmp_path)
    snap = export_snapshot(reg, tmp_path / "s", KEY)
    m = verify_manifest((snap.folder / MANIFEST).read_bytes(),
                        (snap.folder / SIGNATURE).read_bytes(), KEY.public, where="s")
    assert m == snap.manifest
    assert (m.kind, m.seq_from, m.seq_to, m.head) == ("full", 0, len(reg.audit_entries()),
                                                      reg.state_digest())
    assert m.registry_id == registry_id(reg) == registry_id(reg)  # stable
    paths = {f.path for f in m.files}
    assert {f"tables/{t}.jsonl" for t in ("holders", "works", "reservations", "licences",
                                          "revocations", "audit")} <= paths
    assert "index/lyrics/manifest.json" in paths and m.engines["lyrics"]
    on_disk = {str(p.relative_to(snap.folder)) for p in snap.folder.rglob("*") if p.is_file()}
    assert on_disk == paths | {MANIFEST, SIGNATURE}
    works = [json.loads(line) for line in (snap.folder / "tables/works.jsonl").open()]
    assert [w["id"] for w in works] == ["A-0", "A-1", "A-2"]
    assert works[0]["fingerprints"] == ["lyrics"] and "data" not in works[0]
    revs = [json.loads(line) for line in (snap.folder / "tables/revocations.jsonl").open()]
    assert revs[0]["entry_id"] == 3 and revs[0]["revoked_on"] == "2026-03-01"
    assert snap.to_json()["files"] == len(m.files)
    # never raw media: nothing but JSON lines, JSON and numpy arrays
    assert {p.suffix for p in snap.folder.rglob("*") if p.is_file()} <= {".jsonl", ".json",
                                                                         ".npy", ".sig"}


def test_delta_since_and_one_holder(tmp_path: Path) -> None:
    reg, index = build_source(tmp_path)
    seq = len(reg.audit_entries())
    grow(reg, index)
    delta = export_snapshot(reg, tmp_path / "d", KEY, since=seq)
    counts = delta.manifest.counts
    assert (counts["holders"], counts["works"], counts["reservations"], counts["licences"],
            counts["revocations"], counts["fingerprints_lyrics"]) == (1, 1, 1, 0, 2, 1)
    assert delta.manifest.base_head == reg.audit_entries()[seq - 1]["hash"]
    part = export_snapshot(reg, tmp_path / "h", KEY, holder="A Publishing")
    assert part.manifest.scope == "A Publishing"
    assert part.manifest.counts["works"] == 1 and part.manifest.counts["licences"] == 0
    assert part.manifest.snapshot_id != export_snapshot(reg, tmp_path / "f", KEY).manifest \
        .snapshot_id
    mirror = Mirror(tmp_path / "m")
    mirror.pull(part.folder, KEY)
    assert [w["id"] for w in registry_content(mirror.reg)["works"]] == ["A-2"]
    with pytest.raises(InputError, match="--since"):
        export_snapshot(reg, tmp_path / "x1", KEY, since=10_000)
    with pytest.raises(NotFoundError):
        export_snapshot(reg, tmp_path / "x2", KEY, holder="Nobody")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("x")
    with pytest.raises(InputError, match="not empty"):
        export_snapshot(reg, tmp_path / "busy", KEY)


def test_broken_audit_chain_is_not_exported(tmp_path: Path) -> None:
    reg, _ = build_source(tmp_path)
    with reg.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE audit_log SET payload = '{}' WHERE seq = 2")
    with pytest.raises(IntegrityError, match="audit"):
        export_snapshot(reg, tmp_path / "s", KEY)
    assert not (tmp_path / "s").exists()


# -- property: random registries -----------------------------------------------------------
USES = st.lists(st.sampled_from(list(Use)), min_size=1, max_size=3, unique=True)
PURPOSES = st.lists(st.sampled_from(list(Purpose)), max_size=2, unique=True)
DAY = st.integers(0, 1500).map(lambda d: date(2023, 1, 1) + timedelta(days=d))
ACTION = st.one_of(
    st.tuples(st.just("work"), st.integers(0, 2), st.text("abcdef ", min_size=1, max_size=8)),
    st.tuples(st.just("reserve"), st.integers(0, 2), USES, PURPOSES, DAY, st.booleans(),
              st.integers(0, 3), st.booleans()),
    st.tuples(st.just("licence"), st.integers(0, 2), st.sampled_from(["OpenCo", "Someone"]),
              USES, PURPOSES, DAY, st.integers(0, 3)),
    st.tuples(st.just("revoke"), st.sampled_from(["reservation", "licence"]), st.integers(1, 6),
              DAY),
    st.tuples(st.just("update"), st.integers(0, 5), st.text("ghijk ", min_size=1, max_size=8),
              st.booleans()),
    st.tuples(st.just("remove"), st.integers(0, 5), DAY),
)


def _play(reg: Registry, action: tuple[object, ...]) -> None:
    holders = [h.name for h in reg.list_holders()]
    kind = action[0]
    if kind == "work":
        holder = holders[int(action[1]) % len(holders)]  # type: ignore[call-overload]
        reg.add_work(holder, NewWork(title=str(action[2]).strip() or "t"))
        return
    if kind in ("reserve", "licence"):
        holder = holders[int(action[1]) % len(holders)]  # type: ignore[call-overload]
        own = [w.id for w in reg.list_works(holder)]
        pick = int(action[-1]) if kind == "licence" else int(action[6])  # type: ignore[call-overload]
        works = own[:pick] if own and pick else []
        if kind == "reserve":
            _, _, uses, purposes, start, bounded, _, exempt = action
            reg.reserve(holder, uses=uses, purposes=purposes, effective_from=start,  # type: ignore[arg-type]
                        effective_until=start + timedelta(days=300) if bounded else None,  # type: ignore[operator]
                        work_ids=works, exempt=bool(exempt) and bool(works))
        else:
            _, _, licensee, uses, purposes, start, _ = action
            reg.grant_licence(holder, licensee=str(licensee), uses=uses, purposes=purposes,  # type: ignore[arg-type]
                              valid_from=start, work_ids=works)  # type: ignore[arg-type]
        return
    if kind in ("update", "remove"):
        catalogue = reg.list_works(include_removed=True)
        w = catalogue[int(action[1]) % len(catalogue)]  # type: ignore[call-overload]
        if kind == "update":
            reg.update_work(w.holder, w.id, NewWork(
                title=str(action[2]).strip() or "t", external_id=w.id,
                extra={"note": str(action[2])} if action[3] else {}))
        elif w.removed_on is None:
            reg.remove_work(w.holder, w.id, on=action[2])  # type: ignore[arg-type]
        return
    entry_type, entry_id, on = action[1], int(action[2]), action[3]  # type: ignore[call-overload]
    have = reg.reservations() if entry_type == "reservation" else reg.licences()
    if any(e.id == entry_id for e in have):
        reg.revoke(str(entry_type), entry_id, on=on)  # type: ignore[arg-type]


def _round_trip(before: list[tuple[object, ...]], after: list[tuple[object, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        reg = Registry.open(f"sqlite:///{root / 'src.db'}")
        for name in ("H0", "H1", "H2"):
            reg.add_holder(name)
        reg.add_work("H0", NewWork(title="first"))
        for action in before:
            _play(reg, action)
        s1 = export_snapshot(reg, root / "s1", KEY)
        for action in after:
            _play(reg, action)
        by_delta = Mirror(root / "a")
        by_delta.pull(s1.folder, KEY)
        if len(reg.audit_entries()) > s1.manifest.seq_to:
            d1 = export_snapshot(reg, root / "d1", KEY, since=s1.manifest.seq_to)
            by_delta.pull(d1.folder, KEY)
        by_full = Mirror(root / "b")
        by_full.pull(export_snapshot(reg, root / "s2", KEY).folder, KEY)
        expected = registry_content(reg)
        assert registry_content(by_delta.reg) == expected == registry_content(by_full.reg)
        decisions = all_decisions(reg)
        assert all_decisions(by_delta.reg) == decisions == all_decisions(by_full.reg)
        for r in (reg, by_delta.reg, by_full.reg):
            r.close()


REGISTRIES = given(before=st.lists(ACTION, min_size=1, max_size=8),
                   after=st.lists(ACTION, max_size=8))


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@REGISTRIES
def test_random_registries_round_trip_by_full_and_by_delta(
    before: list[tuple[object, ...]], after: list[tuple[object, ...]]
) -> None:
    _round_trip(before, after)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@REGISTRIES
def test_random_registries_round_trip_many(
    before: list[tuple[object, ...]], after: list[tuple[object, ...]]
) -> None:
    _round_trip(before, after)


def test_fast_blob_decoding_equals_numpy_load() -> None:
    """Export reads fingerprint blobs without numpy.load/zipfile: pinned equal to
    Fingerprint.from_bytes, with a fallback to it for anything unexpected."""
    from tdmguard.errors import InputError as Bad
    from tdmguard.fingerprint.base import Fingerprint
    from tdmguard.fingerprint.engines import get_engine
    from tdmguard.registry.snapshot.export import _decode
    from tdmguard.vocab import Modality

    from .states import LYRICS

    fps = [get_engine(Modality.LYRICS).extract_text(text, where="t")  # type: ignore[attr-defined]
           for text in LYRICS]
    rng = np.random.default_rng(3)
    fps.append(Fingerprint(Modality.AUDIO, "audio-x", rng.integers(0, 2**63, 5000, np.uint64),
                           rng.integers(-9, 9, (5000, 2), np.int32), {"duration_s": 1.5}))
    fps.append(Fingerprint(Modality.IMAGE, "image-x", np.zeros(0, np.uint64),
                           np.zeros((0, 12), np.int32), {}))
    for fp in fps:
        blob = fp.to_bytes()
        fast, slow = _decode(blob, "w"), Fingerprint.from_bytes(blob)
        assert (fast.modality, fast.engine, dict(fast.meta)) == (
            slow.modality, slow.engine, dict(slow.meta))
        assert fast.keys.dtype == slow.keys.dtype and np.array_equal(fast.keys, slow.keys)
        assert fast.aux.shape == slow.aux.shape and np.array_equal(fast.aux, slow.aux)
    broken = bytearray(fps[0].to_bytes())
    broken[60] ^= 0xFF  # inside the first member's compressed data: the CRC fails
    with pytest.raises(Bad):
        _decode(bytes(broken), "w")


def test_one_holders_delta_carries_its_removals_and_updates(tmp_path: Path) -> None:
    """A delta of one holder's part re-sends that holder's changed and removed works (their
    audit entries included), and nothing of another holder's."""
    reg, _index = build_source(tmp_path)
    part = export_snapshot(reg, tmp_path / "p1", KEY, holder="A Records")
    reg.remove_work("A Records", "A-1", on=date(2026, 1, 1))
    reg.update_work("A Publishing", "A-2", NewWork(title="Other", external_id="A-2"))
    delta = export_snapshot(reg, tmp_path / "p2", KEY, holder="A Records",
                            since=part.manifest.seq_to)
    works = [json.loads(line) for line in (delta.folder / "tables/works.jsonl").open()]
    assert [(w["id"], w["removed_on"]) for w in works] == [("A-1", "2026-01-01")]
    actions = [json.loads(line)["action"] for line in (delta.folder / "tables/audit.jsonl").open()]
    assert actions == ["work.remove"]
    mirror = Mirror(tmp_path / "m")
    mirror.pull(part.folder, KEY)
    mirror.pull(delta.folder, KEY)
    assert mirror.reg.get_work("A-1").removed_on == date(2026, 1, 1)
    assert index_content(mirror.index)["lyrics"].keys() == {"A-0"}
