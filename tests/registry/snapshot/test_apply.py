"""Pull into a mirror: round trip, deltas, federation, and every hostile input refused with
the mirror left byte-for-byte as it was (registry/snapshot/apply.py)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from tdmguard.errors import ConflictError, InputError, IntegrityError, TdmguardError
from tdmguard.fingerprint.engines import get_engine
from tdmguard.index import HashIndex
from tdmguard.registry.matching import Matcher, append_to_index, rebuild_index
from tdmguard.registry.snapshot import (
    FolderReader,
    SnapshotManifest,
    drop_source,
    export_snapshot,
    list_sources,
    pull_snapshot,
)
from tdmguard.registry.snapshot.manifest import MANIFEST, SIGNATURE, sign_manifest
from tdmguard.registry.snapshot.verify import verify_mirror
from tdmguard.registry.store import NewWork, Registry
from tdmguard.signing import SigningKey, generate_signing_key
from tdmguard.vocab import Modality, Purpose, Use, WorkKind

from .states import LYRICS, all_decisions, folder_bytes, index_content, registry_content


def _lyrics_work(reg: Registry, index: Path, holder: str, wid: str, text: str) -> None:
    engine = get_engine(Modality.LYRICS)
    fp = engine.extract_text(text, where=wid)  # type: ignore[attr-defined]
    reg.add_work(holder, NewWork(title=f"Song {wid}", kind=WorkKind.LYRICS, external_id=wid))
    reg.add_fingerprint(wid, fp, source_sha256=hashlib.sha256(text.encode()).hexdigest())
    append_to_index(index, engine, [(wid, fp)])


def build_source(root: Path, prefix: str = "A") -> tuple[Registry, Path]:
    reg = Registry.open(f"sqlite:///{root / 'src.db'}")
    index = root / "src.index"
    reg.add_holder(f"{prefix} Records", contact="l@a.example")
    reg.add_holder(f"{prefix} Publishing")
    for n, text in enumerate(LYRICS[:3]):
        holder = f"{prefix} Records" if n < 2 else f"{prefix} Publishing"
        _lyrics_work(reg, index, holder, f"{prefix}-{n}", text)
    reg.reserve(f"{prefix} Records", uses=[Use.TDM], purposes=[Purpose.COMMERCIAL],
                effective_from=date(2024, 1, 1))
    reg.reserve(f"{prefix} Records", uses=[Use.AI_TRAIN], work_ids=[f"{prefix}-1"], exempt=True,
                effective_from=date(2025, 1, 1))
    reg.reserve(f"{prefix} Publishing", uses=[Use.AI_TRAIN], effective_from=date(2024, 6, 1))
    reg.grant_licence(f"{prefix} Records", licensee="OpenCo", uses=[Use.AI_TRAIN],
                      valid_from=date(2025, 2, 1), work_ids=[f"{prefix}-0"])
    reg.revoke("reservation", 3, on=date(2026, 3, 1))
    return reg, index


def grow(reg: Registry, index: Path, prefix: str = "A") -> None:
    """Changes after the first export: a holder, a work, reservations, revocations."""
    reg.add_holder(f"{prefix} Newcomer")
    _lyrics_work(reg, index, f"{prefix} Newcomer", f"{prefix}-9", LYRICS[3])
    reg.reserve(f"{prefix} Newcomer", uses=[Use.GENAI_TRAIN], effective_from=date(2025, 5, 5))
    reg.revoke("reservation", 1, on=date(2026, 6, 1))
    reg.revoke("licence", 1, on=date(2026, 2, 2), note="ended")


class Mirror:
    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.db = root / "mirror.db"
        self.index = root / "mirror.index"
        self.reg = Registry.open(f"sqlite:///{self.db}")

    def pull(self, folder: Path, key: SigningKey, **kw: str) -> object:
        return pull_snapshot(self.reg, self.index, FolderReader(folder), key.public, **kw)

    def files(self) -> dict[str, str]:
        self.reg.engine.dispose()  # close connections: the WAL is folded into the file
        return folder_bytes(self.db, self.index) if self.index.exists() else folder_bytes(self.db)


@pytest.fixture
def key() -> SigningKey:
    return generate_signing_key()


def test_round_trip_equal_decisions_and_matches(tmp_path: Path, key: SigningKey) -> None:
    reg, index = build_source(tmp_path)
    snap = export_snapshot(reg, tmp_path / "s1", key)
    mirror = Mirror(tmp_path / "m")
    result = mirror.pull(snap.folder, key)
    assert registry_content(mirror.reg) == registry_content(reg)
    assert all_decisions(mirror.reg) == all_decisions(reg)
    assert index_content(mirror.index) == index_content(index)
    src_m, mir_m = Matcher.open(index, Modality.LYRICS), Matcher.open(mirror.index,
                                                                       Modality.LYRICS)
    assert src_m is not None and mir_m is not None
    query = "intro words\n" + LYRICS[1] + "outro"
    assert [m.to_json() for m in mir_m.identify_text(query, where="q")] == [
        m.to_json() for m in src_m.identify_text(query, where="q")]
    assert mir_m.identify_text(query, where="q")[0].work_id == "A-1"
    [source] = list_sources(mirror.reg)
    assert (source.seq, source.head, source.snapshot_id) == (
        snap.manifest.seq_to, reg.state_digest(), snap.manifest.snapshot_id)
    assert result.to_json()["counts"] == {"holders": 2, "works": 3, "reservations": 3,  # type: ignore[attr-defined]
                                         "licences": 1, "revocations": 1}
    assert mirror.reg.audit_entries()[-1]["action"] == "snapshot.apply"


def test_delta_applied_equals_full_export_of_new_state(tmp_path: Path, key: SigningKey) -> None:
    reg, index = build_source(tmp_path)
    s1 = export_snapshot(reg, tmp_path / "s1", key)
    grow(reg, index)
    d1 = export_snapshot(reg, tmp_path / "d1", key, since=s1.manifest.seq_to)
    s2 = export_snapshot(reg, tmp_path / "s2", key)
    assert d1.manifest.kind == "delta" and d1.manifest.seq_from == s1.manifest.seq_to
    assert d1.manifest.counts["works"] == 1 and d1.manifest.counts["revocations"] == 2
    by_delta, by_full = Mirror(tmp_path / "a"), Mirror(tmp_path / "b")
    by_delta.pull(s1.folder, key)
    by_delta.pull(d1.folder, key)
    by_full.pull(s2.folder, key)
    assert registry_content(by_delta.reg) == registry_content(by_full.reg) == registry_content(reg)
    assert all_decisions(by_delta.reg) == all_decisions(by_full.reg) == all_decisions(reg)
    assert index_content(by_delta.index) == index_content(by_full.index) == index_content(index)
    assert [(s.seq, s.head) for s in list_sources(by_delta.reg)] == [
        (s2.manifest.seq_to, s2.manifest.head)]
    # a later full snapshot on top of the delta-built mirror replaces the source's rows
    reg.reserve("A Newcomer", uses=[Use.SEARCH], effective_from=date(2026, 1, 1))
    s3 = export_snapshot(reg, tmp_path / "s3", key)
    by_delta.pull(s3.folder, key)
    assert registry_content(by_delta.reg) == registry_content(reg)
    assert all_decisions(by_delta.reg) == all_decisions(reg)
    assert index_content(by_delta.index) == index_content(index)
    assert len(list((by_delta.index / "lyrics").glob("seg-*"))) == 1  # replaced ones deleted


def test_federation_two_sources_then_drop_one(tmp_path: Path, key: SigningKey) -> None:
    reg_a, _index_a = build_source(tmp_path / "a", "A")
    reg_b, _index_b = build_source(tmp_path / "b", "B")
    key_b = generate_signing_key()
    sa = export_snapshot(reg_a, tmp_path / "sa", key)
    sb = export_snapshot(reg_b, tmp_path / "sb", key_b)
    mirror = Mirror(tmp_path / "m")
    mirror.pull(sa.folder, key, name="aurora")
    mirror.pull(sb.folder, key_b, name="borealis")
    names = {s.name: s for s in list_sources(mirror.reg)}
    assert set(names) == {"aurora", "borealis"} and names["borealis"].works == 3
    content = registry_content(mirror.reg)
    assert {w["id"] for w in content["works"]} == {"A-0", "A-1", "A-2", "B-0", "B-1", "B-2"}
    decisions = all_decisions(mirror.reg)
    assert {k: v for k, v in decisions.items() if k.startswith("A-")} == all_decisions(reg_a)
    # reservation and licence numbers of the second source are the mirror's own: only kinds
    # and reason codes are compared
    codes = {k: (v[0], [r["code"] for r in v[1]]) for k, v in decisions.items()
             if k.startswith("B-")}
    assert codes == {k: (v[0], [r["code"] for r in v[1]])
                     for k, v in all_decisions(reg_b).items()}
    assert set(index_content(mirror.index)["lyrics"]) == {"A-0", "A-1", "A-2", "B-0", "B-1",
                                                          "B-2"}
    dropped = drop_source(mirror.reg, mirror.index, "aurora")
    assert dropped["dropped"] == "aurora"
    assert {w["id"] for w in registry_content(mirror.reg)["works"]} == {"B-0", "B-1", "B-2"}
    assert set(index_content(mirror.index)["lyrics"]) == {"B-0", "B-1", "B-2"}
    assert [s.name for s in list_sources(mirror.reg)] == ["borealis"]


def test_clashing_ids_need_a_namespace(tmp_path: Path, key: SigningKey) -> None:
    reg_1, _ = build_source(tmp_path / "one", "A")
    reg_2, _ = build_source(tmp_path / "two", "A")  # another registry with the same ids
    s1 = export_snapshot(reg_1, tmp_path / "s1", key)
    s2 = export_snapshot(reg_2, tmp_path / "s2", key)
    mirror = Mirror(tmp_path / "m")
    mirror.pull(s1.folder, key, name="one")
    before = mirror.files()
    with pytest.raises(ConflictError, match="--namespace"):
        mirror.pull(s2.folder, key, name="two")
    assert mirror.files() == before
    mirror.pull(s2.folder, key, name="two", namespace="two")
    ids = {w["id"] for w in registry_content(mirror.reg)["works"]}
    assert {"A-0", "two:A-0"} <= ids
    assert "two:A-0" in index_content(mirror.index)["lyrics"]
    facts = mirror.reg.facts()
    assert "two:A Records" in facts and "A Records" in facts


# -- hostile input ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[SigningKey, Path]:
    """Once per module: a source exported at s1, then grown (s2 and the delta d1), and a
    mirror holding s1 (copied by each test)."""
    root = tmp_path_factory.mktemp("held")
    key = generate_signing_key()
    reg, index = build_source(root)
    s1 = export_snapshot(reg, root / "s1", key)
    grow(reg, index)
    export_snapshot(reg, root / "d1", key, since=s1.manifest.seq_to)
    export_snapshot(reg, root / "s2", key)
    mirror = Mirror(root / "m")
    mirror.pull(s1.folder, key)
    mirror.reg.engine.dispose()
    return key, root


@pytest.fixture
def held(built: tuple[SigningKey, Path], tmp_path: Path
         ) -> tuple[SigningKey, Path, Mirror, Path, Path]:
    """(key, s1, a fresh copy of the mirror holding s1, d1, s2)."""
    key, root = built
    shutil.copytree(root / "m", tmp_path / "m")
    return key, root / "s1", Mirror(tmp_path / "m"), root / "d1", root / "s2"


def _refused(mirror: Mirror, folder: Path, key: SigningKey, error: type[TdmguardError],
             match: str) -> None:
    before = mirror.files()
    with pytest.raises(error, match=match):
        mirror.pull(folder, key)
    assert mirror.files() == before, "a refused pull changed the mirror"
    assert not list(mirror.index.parent.glob(".mirror.index.pull-*"))


def test_one_changed_byte_in_any_file_is_refused(held: tuple, tmp_path: Path  # type: ignore[type-arg]
                                                 ) -> None:
    key, _, mirror, _, s2 = held
    files = [p for p in sorted(s2.rglob("*")) if p.is_file()]
    assert len(files) >= 10
    for path in files:
        bad = tmp_path / "bad"
        shutil.rmtree(bad, ignore_errors=True)
        shutil.copytree(s2, bad)
        target = bad / path.relative_to(s2)
        data = bytearray(target.read_bytes())
        if data:
            data[len(data) // 2] ^= 0x01
        else:  # an empty table: one byte more is the smallest change
            data.append(0x0A)
        target.write_bytes(bytes(data))
        rel = str(target.relative_to(bad))
        _refused(mirror, bad, key, IntegrityError,
                 "sign" if rel in (MANIFEST, SIGNATURE) else re.escape(rel))


def test_truncated_file_is_refused(held: tuple, tmp_path: Path) -> None:  # type: ignore[type-arg]
    key, _, mirror, _, s2 = held
    bad = tmp_path / "bad"
    shutil.copytree(s2, bad)
    npy = next(bad.glob("index/lyrics/seg-*/keys.npy"))
    npy.write_bytes(npy.read_bytes()[:-9])
    _refused(mirror, bad, key, IntegrityError, r"keys\.npy.*truncated")


def test_resigned_with_another_key_is_refused(held: tuple, tmp_path: Path  # type: ignore[type-arg]
                                              ) -> None:
    key, _, mirror, _, s2 = held
    bad = tmp_path / "bad"
    shutil.copytree(s2, bad)
    manifest = SnapshotManifest.from_bytes((bad / MANIFEST).read_bytes(), where="m")
    _body, sig = sign_manifest(manifest, generate_signing_key())
    (bad / SIGNATURE).write_bytes(sig)
    _refused(mirror, bad, key, IntegrityError, "not by the trusted key")
    # the signature alone, with the trusted key's name on it, still does not verify
    sig_json = json.loads(sig)
    sig_json["public_key"] = key.public.text
    (bad / SIGNATURE).write_text(json.dumps(sig_json))
    _refused(mirror, bad, key, IntegrityError, "bad signature")


def test_wrong_trusted_key_is_refused(held: tuple) -> None:  # type: ignore[type-arg]
    _, _, mirror, _, s2 = held
    _refused(mirror, s2, generate_signing_key(), IntegrityError, "not by the trusted key")


def test_older_snapshot_and_replay_are_refused(held: tuple) -> None:  # type: ignore[type-arg]
    key, s1, mirror, _, s2 = held
    _refused(mirror, s1, key, IntegrityError, "not newer")
    mirror.pull(s2, key)
    _refused(mirror, s1, key, IntegrityError, "rollback")
    _refused(mirror, s2, key, IntegrityError, "replay")


def test_delta_for_another_source_or_state_is_refused(held: tuple, tmp_path: Path  # type: ignore[type-arg]
                                                      ) -> None:
    key, _, mirror, d1, _ = held
    other, other_index = build_source(tmp_path / "other", "Z")
    first = export_snapshot(other, tmp_path / "z1", key)
    grow(other, other_index, "Z")
    z_delta = export_snapshot(other, tmp_path / "zd", key, since=first.manifest.seq_to)
    _refused(mirror, z_delta.folder, key, IntegrityError, "does not hold")
    mirror.pull(d1, key)
    # a delta from the same source starting at an older state
    _refused(mirror, d1, key, IntegrityError, "not newer")


def test_delta_with_a_gap_is_refused(tmp_path: Path, key: SigningKey) -> None:
    reg, index = build_source(tmp_path)
    s1 = export_snapshot(reg, tmp_path / "s1", key)
    grow(reg, index)
    mid = s1.manifest.seq_to + 2
    gap = export_snapshot(reg, tmp_path / "gap", key, since=mid)
    mirror = Mirror(tmp_path / "m")
    mirror.pull(s1.folder, key)
    _refused(mirror, gap.folder, key, IntegrityError, "deltas in between")


def test_path_traversal_in_a_signed_manifest_is_refused(held: tuple, tmp_path: Path  # type: ignore[type-arg]
                                                        ) -> None:
    key, _, mirror, _, s2 = held
    for evil in ("../../evil.txt", "tables/../../evil", "/etc/passwd", "index\\..\\x",
                 "tables/./x", "other/x"):
        bad = tmp_path / "bad"
        shutil.rmtree(bad, ignore_errors=True)
        shutil.copytree(s2, bad)
        raw = json.loads((bad / MANIFEST).read_bytes())
        raw["files"][0]["path"] = evil
        body = (json.dumps(raw) + "\n").encode()
        manifest_sig = key.public.to_json() | {"signature": key.sign(body)}
        (bad / MANIFEST).write_bytes(body)
        (bad / SIGNATURE).write_text(json.dumps(manifest_sig))
        _refused(mirror, bad, key, InputError, "unsafe file name")
    assert not (tmp_path / "evil.txt").exists()


def test_unknown_use_in_a_signed_table_is_refused(tmp_path: Path, key: SigningKey) -> None:
    reg, _ = build_source(tmp_path)
    snap = export_snapshot(reg, tmp_path / "s1", key)
    table = snap.folder / "tables" / "reservations.jsonl"
    table.write_text(table.read_text().replace('"tdm"', '"mine-everything"'))
    raw = json.loads((snap.folder / MANIFEST).read_bytes())
    for f in raw["files"]:
        if f["path"] == "tables/reservations.jsonl":
            data = table.read_bytes()
            f["sha256"], f["size_bytes"] = hashlib.sha256(data).hexdigest(), len(data)
    body = json.dumps(raw).encode()
    (snap.folder / MANIFEST).write_bytes(body)
    (snap.folder / SIGNATURE).write_text(
        json.dumps(key.public.to_json() | {"signature": key.sign(body)}))
    mirror = Mirror(tmp_path / "m")
    before = mirror.files()
    with pytest.raises(InputError, match=r"reservations\.jsonl:1.*unknown Use"):
        mirror.pull(snap.folder, key)
    assert mirror.files() == before


def test_mirror_on_any_database(db_url: str, tmp_path: Path, key: SigningKey) -> None:
    """SQLite and PostgreSQL mirrors: rows keep the source's numbers, and rows added to the
    mirror afterwards get fresh ones (the id sequences were moved past the pulled rows)."""
    reg, index = build_source(tmp_path)
    s1 = export_snapshot(reg, tmp_path / "s1", key)
    grow(reg, index)
    _change(reg, index)
    d1 = export_snapshot(reg, tmp_path / "d1", key, since=s1.manifest.seq_to)
    mirror = Registry.open(db_url)
    pull_snapshot(mirror, tmp_path / "m.index", FolderReader(s1.folder), key.public)
    pull_snapshot(mirror, tmp_path / "m.index", FolderReader(d1.folder), key.public)
    assert registry_content(mirror) == registry_content(reg)
    assert all_decisions(mirror) == all_decisions(reg)
    # the digests recorded while pulling are those of the rows read back from this database
    check = verify_mirror(mirror, tmp_path / "m.index")
    assert check.problem is None and check.rows == 3 + 5 + 5 + 1 + 3 and not check.unrecorded
    local = mirror.add_holder("Local Holder")
    assert local.id == 4
    assert mirror.reserve("Local Holder", uses=[Use.TDM], effective_from=date(2025, 1, 1)).id == 6
    assert mirror.verify().ok
    mirror.close()


@pytest.mark.parametrize("payload", ['{"a":1}', '{"t":"Motörhead \\"live\\" \\u2028 \\t é 🎵"}',
                                     'tab\there', "\x00\x1f\x7f", "\u2028\u2029", ""])
def test_fast_entry_hash_is_the_audit_logs(payload: str) -> None:
    from tdmguard.registry import audit
    from tdmguard.registry.snapshot.apply import _entry_hash

    args = ("ab" * 32, 7, "2026-12-03T10:00:00.000001+00:00", "work.add", payload)
    assert _entry_hash(*args) == audit.entry_hash(*args)
    args = (audit.GENESIS, 1, "at \"quoted\" ü", "act\\ion", payload)
    assert _entry_hash(*args) == audit.entry_hash(*args)


# -- works changed or removed: deltas carry them -------------------------------------------
def _rebuilt(reg: Registry, root: Path) -> Path:
    """The index `tdmguard index build` makes of the registry's current state."""
    for modality in Modality:
        rebuild_index(root, modality, reg.fingerprints(modality))
    return root


def _change(reg: Registry, index: Path) -> None:
    """Changes a delta must carry: a work's metadata and fingerprint replaced (the old one
    superseded), a work removed, a new work added then removed, a reservation."""
    engine = get_engine(Modality.LYRICS)
    fp = engine.extract_text(LYRICS[3], where="new")
    reg.update_work("A Records", "A-0", NewWork(
        title="Song A-0 (remaster)", kind=WorkKind.LYRICS, external_id="A-0",
        artists=["Ann"], extra={"label": "Aurora"}),
        [(fp, hashlib.sha256(LYRICS[3].encode()).hexdigest())])
    reg.remove_work("A Records", "A-1", on=date(2026, 1, 1))
    _lyrics_work(reg, index, "A Publishing", "A-7", "a new song about nothing at all\n" * 4)
    reg.remove_work("A Publishing", "A-7", on=date(2025, 6, 1))
    reg.reserve("A Records", uses=[Use.AI_INPUT], effective_from=date(2025, 1, 1))


def _same(reg: Registry, rebuilt: Path, *mirrors: Mirror) -> None:
    for m in mirrors:
        assert registry_content(m.reg) == registry_content(reg)
        assert all_decisions(m.reg) == all_decisions(reg)
        assert index_content(m.index) == index_content(rebuilt)


def test_delta_carries_updates_and_removals(tmp_path: Path, key: SigningKey) -> None:
    reg, index = build_source(tmp_path)
    s1 = export_snapshot(reg, tmp_path / "s1", key)
    _change(reg, index)
    d1 = export_snapshot(reg, tmp_path / "d1", key, since=s1.manifest.seq_to)
    s2 = export_snapshot(reg, tmp_path / "s2", key)
    works = [json.loads(line) for line in (d1.folder / "tables/works.jsonl").open()]
    assert [(w["id"], w["removed_on"]) for w in works] == [
        ("A-0", None), ("A-1", "2026-01-01"), ("A-7", "2025-06-01")]
    assert works[0]["extra"] == {"label": "Aurora"} and works[0]["fingerprints"] == ["lyrics"]
    assert d1.manifest.counts["fingerprints_lyrics"] == 1  # A-0's new one; removed ones none
    by_delta, by_full = Mirror(tmp_path / "a"), Mirror(tmp_path / "b")
    by_delta.pull(s1.folder, key)
    by_delta.pull(d1.folder, key)
    by_full.pull(s2.folder, key)
    rebuilt = _rebuilt(reg, tmp_path / "rebuilt")
    _same(reg, rebuilt, by_delta, by_full)
    # identify on the mirror: the removed work is gone, A-0 matches its new lyrics only
    src_m = Matcher.open(rebuilt, Modality.LYRICS)
    assert src_m is not None
    for m in (by_delta, by_full):
        matcher = Matcher.open(m.index, Modality.LYRICS)
        assert matcher is not None
        for n, text in enumerate(LYRICS):
            got = [x.to_json() for x in matcher.identify_text(text, where="q")]
            assert got == [x.to_json() for x in src_m.identify_text(text, where="q")], n
        assert [x.work_id for x in matcher.identify_text(LYRICS[3], where="q")] == ["A-0"]
        assert matcher.identify_text(LYRICS[1], where="q") == []  # A-1 removed
        assert matcher.identify_text(LYRICS[0], where="q") == []  # A-0's old lyrics
    removed = by_delta.reg.get_work("A-1")
    assert removed.removed_on == date(2026, 1, 1)
    # the replaced segment was rewritten: no segment holds A-1 any more
    assert "A-1" not in HashIndex.stored_work_ids(by_delta.index / "lyrics")
    # a second delta restores A-1 (an update of a removed work)
    reg.update_work("A Records", "A-1", NewWork(title="Song A-1", kind=WorkKind.LYRICS,
                                                external_id="A-1"))
    d2 = export_snapshot(reg, tmp_path / "d2", key, since=d1.manifest.seq_to)
    assert d2.manifest.counts["works"] == 1 and d2.manifest.counts["fingerprints_lyrics"] == 1
    by_delta.pull(d2.folder, key)
    by_full2 = Mirror(tmp_path / "c")
    by_full2.pull(export_snapshot(reg, tmp_path / "s3", key).folder, key)
    rebuilt2 = _rebuilt(reg, tmp_path / "rebuilt2")
    _same(reg, rebuilt2, by_delta, by_full2)
    matcher = Matcher.open(by_delta.index, Modality.LYRICS)
    assert matcher is not None
    assert [x.work_id for x in matcher.identify_text(LYRICS[1], where="q")] == ["A-1"]
    # only live segments are left: every file in the folder is named by the manifest
    listed = set(json.loads((by_delta.index / "lyrics" / "manifest.json").read_text())[
        "segments"])
    assert {p.name for p in (by_delta.index / "lyrics").glob("seg-*")} == listed


def test_delta_changes_with_a_namespace(tmp_path: Path, key: SigningKey) -> None:
    reg, index = build_source(tmp_path)
    s1 = export_snapshot(reg, tmp_path / "s1", key)
    _change(reg, index)
    d1 = export_snapshot(reg, tmp_path / "d1", key, since=s1.manifest.seq_to)
    mirror = Mirror(tmp_path / "m")
    mirror.pull(s1.folder, key, namespace="aur")
    mirror.pull(d1.folder, key)
    assert mirror.reg.get_work("aur:A-1").removed_on == date(2026, 1, 1)
    assert mirror.reg.get_work("aur:A-0").title == "Song A-0 (remaster)"
    matcher = Matcher.open(mirror.index, Modality.LYRICS)
    assert matcher is not None
    assert [x.work_id for x in matcher.identify_text(LYRICS[3], where="q")] == ["aur:A-0"]
    assert matcher.identify_text(LYRICS[1], where="q") == []
