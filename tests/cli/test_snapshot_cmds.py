"""The exchange through the CLI (issue 11): a holder builds its registry, publishes its key
and exports signed snapshots; a lab pulls them into a mirror and decides, identifies and
scans with the same answers as the source."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest

from tdmguard.cli.app import main
from tdmguard.cli.exit_codes import ExitCode
from tdmguard.demo import demo_data_dir
from tdmguard.registry.store import Registry
from tests.registry.snapshot.states import all_decisions, folder_bytes

DATA = demo_data_dir()
QUERIES = [
    DATA / "audio" / "query-nebula-pitch-up-2st.ogg",
    DATA / "audio" / "unregistered-armygeddon.ogg",
    DATA / "image" / "query-frog-resized.jpg",
    DATA / "image" / "query-penguin-mirrored.jpg",
    DATA / "melody" / "query-jeanie-excerpt.mid",
    DATA / "lyrics" / "training" / "forum_thread_old_songs.txt",
]


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def ok(*args: str) -> Any:
    code, out, err = cli(*args)
    assert code == 0, out + err
    return json.loads(out) if "--json" in args and out.strip().startswith(("{", "[")) else out


class Side:
    """One registry (a holder's, or a lab's mirror): ``--db`` and ``--index`` flags."""

    def __init__(self, root: Path, name: str) -> None:
        self.db = root / f"{name}.db"
        self.index = root / f"{name}.index"

    def flags(self) -> tuple[str, ...]:
        return ("--db", str(self.db), "--index", str(self.index))

    def __call__(self, *args: str, code: int = 0) -> Any:
        if code == 0:
            return ok(*self.flags(), *args)
        got, out, err = cli(*self.flags(), *args)
        assert got == code, out + err
        return err.replace("\n", " ")

    def files(self) -> dict[str, str]:
        return folder_bytes(self.db, self.index)


@pytest.fixture(scope="module")
def holder_side(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Side, Path]:
    """The holder's registry, built through the CLI: three holders, works of every modality
    (the demo catalogues: audio, image, lyrics, melody), reservations, an exemption, licences
    and revocations; a signing key; a full snapshot."""
    root = tmp_path_factory.mktemp("exchange")
    src = Side(root, "holder")
    cat = DATA / "catalogue"
    src("holder", "add", "Aurora Records", "--contact", "licensing@aurora.example", "--json")
    src("holder", "add", "Meadow Music Publishing", "--json")
    src("holder", "add", "Quiet Label", "--json")
    src("work", "import", str(cat / "aurora.csv"), "--holder", "Aurora Records",
        "--allow-outside-paths", "--json")
    src("work", "import", str(cat / "meadow.csv"), "--allow-outside-paths", "--holder",
        "Meadow Music Publishing",
        "--json")
    src("work", "add", "--holder", "Quiet Label", "--title", "Hush", "--isrc", "GBAYE2500009",
        "--json")
    src("reserve", "--holder", "Aurora Records", "--use", "tdm", "--purpose", "commercial",
        "--from", "2024-05-16", "--declared-at", "https://aurora.example/ai", "--json")
    src("reserve", "--holder", "Meadow Music Publishing", "--use", "ai-train", "--work",
        "MEA-001", "--work", "MEA-002", "--from", "2025-01-01", "--json")
    src("reserve", "--holder", "Meadow Music Publishing", "--use", "ai-train", "--work",
        "MEA-002", "--from", "2025-03-01", "--exempt", "--json")
    src("reserve", "--holder", "Quiet Label", "--use", "genai-train", "--from", "2024-01-01",
        "--until", "2027-01-01", "--json")
    src("licence", "grant", "--holder", "Aurora Records", "--licensee", "Demo AI Lab", "--use",
        "ai-train", "--work", "AUR-ART-02", "--from", "2025-06-01", "--json")
    src("licence", "grant", "--holder", "Meadow Music Publishing", "--licensee", "OpenCo",
        "--use", "tdm", "--from", "2025-01-01", "--json")
    src("licence", "revoke", "2", "--on", "2026-01-01", "--json")
    src("reservation", "revoke", "4", "--on", "2026-06-01", "--json")
    keys = ok("keys", "generate", "--out", str(root / "aurora.key"), "--json")
    assert stat.S_IMODE((root / "aurora.key").stat().st_mode) == 0o600
    assert keys["public_key"] == (root / "aurora.key.pub").read_text().strip()
    return root, src, root / "aurora.key"


def _decisions(side: Side, works: list[str]) -> list[Any]:
    """``tdmguard decide`` for each work (one use, purpose, actor and date), plus every
    combination through the library (the CLI opens the registry per call: too slow for
    hundreds)."""
    out: list[Any] = [
        side("decide", "--work", work, "--use", "ai-train", "--purpose", "commercial",
             "--actor", "Demo AI Lab", "--at", "2026-03-01", "--json")
        for work in works
    ]
    reg = Registry.open(f"sqlite:///{side.db}", create=False)
    try:
        out.append(all_decisions(reg))
    finally:
        reg.close()
    return out


def _identify(side: Side) -> list[Any]:
    code, out, err = cli(*side.flags(), "identify", *map(str, QUERIES), "--json")
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


def test_export_pull_decide_identify_scan(holder_side: tuple[Path, Side, Path],
                                          tmp_path: Path) -> None:
    root, src, key = holder_side
    snap = src("registry", "export", "--out", str(tmp_path / "snap"), "--sign-key", str(key),
               "--json")
    assert {"snapshot", "seq", "head", "files"} <= set(snap)
    assert snap["head"] == src("registry", "verify", "--json")["head"]
    lab = Side(tmp_path, "lab")
    pulled = lab("registry", "pull", str(tmp_path / "snap"), "--trust",
                 str(root / "aurora.key.pub"), "--json")
    assert (pulled["snapshot"], pulled["seq"], pulled["head"]) == (
        snap["snapshot"], snap["seq"], snap["head"])
    works = [w["id"] for w in src("work", "list", "--json")]
    assert len(works) == 12 and [w["id"] for w in lab("work", "list", "--json")] == works
    assert _decisions(lab, works) == _decisions(src, works)
    identified = _identify(lab)
    assert identified == _identify(src)
    matched = {m["work_id"] for line in identified for m in line["matches"]}
    assert {"AUR-REC-02", "AUR-ART-01", "AUR-ART-02", "MEA-001"} <= matched
    [source] = lab("registry", "sources", "--json")["sources"]
    assert (source["snapshot"], source["seq"], source["head"]) == (
        snap["snapshot"], snap["seq"], snap["head"])
    # the lab's scan cites the source's signed state in report.json
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    shutil.copy(QUERIES[0], dataset)
    shutil.copy(QUERIES[2], dataset)
    code, _out, err = cli(*lab.flags(), "scan", str(dataset), "--out", str(tmp_path / "scan"),
                         "--use", "ai-train", "--purpose", "commercial", "--actor", "OpenCo",
                         "--workers", "1", "--json")
    assert code == 0, err
    report = json.loads((tmp_path / "scan" / "report.json").read_text())
    [cited] = report["registry"]["sources"]
    assert (cited["snapshot"], cited["seq"], cited["head"]) == (
        snap["snapshot"], snap["seq"], snap["head"])
    assert report["counts"]["excluded"] == 2


def _copy_holder(template: Side, tmp_path: Path) -> Side:
    """A copy of the module's holder registry; its -wal file too, which the fixture's open
    connections may not have folded into the database file yet (without it the copy can
    lack the last rows)."""
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{template.db}{suffix}").exists():
            shutil.copy(f"{template.db}{suffix}", tmp_path / f"holder.db{suffix}")
    shutil.copytree(template.index, tmp_path / "holder.index")
    return Side(tmp_path, "holder")


def test_delta_and_refusals_through_the_cli(holder_side: tuple[Path, Side, Path],
                                            tmp_path: Path) -> None:
    root, src_template, key = holder_side
    src = _copy_holder(src_template, tmp_path)
    pub = str(root / "aurora.key.pub")
    first = src("registry", "export", "--out", str(tmp_path / "s1"), "--sign-key", str(key),
                "--json")
    src("work", "add", "--holder", "Quiet Label", "--title", "Whisper", "--lyrics",
        str(DATA / "lyrics" / "der_lindenbaum.txt"), "--id", "QL-2", "--json")
    src("reservation", "revoke", "1", "--on", "2026-02-01", "--json")
    delta = src("registry", "export", "--out", str(tmp_path / "d1"), "--sign-key", str(key),
                "--since", str(first["seq"]), "--json")
    assert delta["kind"] == "delta" and delta["since"] == first["seq"]
    lab = Side(tmp_path, "lab")
    lab("registry", "pull", str(tmp_path / "s1"), "--trust", pub, "--json")
    before = lab.files()
    # a delta refused: signed by another key
    ok("keys", "generate", "--out", str(tmp_path / "other.key"))
    err = lab("registry", "pull", str(tmp_path / "d1"), "--trust",
              str(tmp_path / "other.key.pub"), code=ExitCode.INTEGRITY)
    assert "manifest.sig" in err and "Traceback" not in err
    # one changed byte in a table
    bad = tmp_path / "bad"
    shutil.copytree(tmp_path / "d1", bad)
    table = bad / "tables" / "works.jsonl"
    table.write_bytes(table.read_bytes().replace(b"Whisper", b"Whispes"))
    err = lab("registry", "pull", str(bad), "--trust", pub, code=ExitCode.INTEGRITY)
    assert "works.jsonl" in err and "SHA-256" in err
    assert lab.files() == before
    # the real delta, from a file:// URL
    applied = lab("registry", "pull", (tmp_path / "d1").as_uri(), "--trust", pub, "--json")
    assert applied["seq"] == delta["seq"] and applied["kind"] == "delta"
    works = [w["id"] for w in src("work", "list", "--json")]
    assert [w["id"] for w in lab("work", "list", "--json")] == works
    assert _decisions(lab, ["AUR-REC-01", "QL-2"]) == _decisions(src, ["AUR-REC-01", "QL-2"])
    # the older snapshot again: a rollback, refused, mirror unchanged
    after = lab.files()
    err = lab("registry", "pull", str(tmp_path / "s1"), "--trust", pub, code=ExitCode.INTEGRITY)
    assert "not newer" in err and "manifest.json" in err
    assert lab.files() == after
    # not a snapshot at all
    err = lab("registry", "pull", str(tmp_path / "bundle-less"), "--trust", pub,
              code=ExitCode.INPUT)
    assert "not a snapshot folder" in err
    (tmp_path / "empty").mkdir()
    err = lab("registry", "pull", str(tmp_path / "empty"), "--trust", pub, code=ExitCode.INPUT)
    assert "manifest.json" in err
    # dropping the source empties the mirror
    [source] = lab("registry", "sources", "--json")["sources"]
    assert lab("registry", "sources", "--drop", source["name"], "--json")["dropped"][
        "dropped"] == source["name"]
    assert lab("work", "list", "--json") == []
    assert lab("registry", "sources", "--json")["sources"] == []


def test_declare_publishes_the_signing_key(holder_side: tuple[Path, Side, Path],
                                           tmp_path: Path) -> None:
    root, src, key = holder_side
    out = tmp_path / "bundle"
    bundle = src("declare", "--holder", "Aurora Records", "--out", str(out), "--sign-key",
                 str(key), "--json")
    published = json.loads((out / ".well-known" / "tdmguard-keys.json").read_text())
    assert published["holder"] == "Aurora Records"
    [entry] = published["keys"]
    assert entry["public_key"] == (root / "aurora.key.pub").read_text().strip()
    assert ".well-known/tdmguard-keys.json" in {f["path"] for f in bundle["files"]}
    # the pinned text from the bundle is what a lab passes to --trust
    snap = src("registry", "export", "--out", str(tmp_path / "s"), "--sign-key", str(key),
               "--holder", "Aurora Records", "--json")
    lab = Side(tmp_path, "lab")
    pulled = lab("registry", "pull", str(tmp_path / "s"), "--trust", entry["public_key"],
                 "--json")
    assert pulled["snapshot"] == snap["snapshot"] and pulled["source"] == "Aurora-Records"
    assert {w["holder"] for w in lab("work", "list", "--json")} == {"Aurora Records"}
    # without a key, no key file
    plain = src("declare", "--holder", "Aurora Records", "--out", str(tmp_path / "b2"),
                "--json")
    assert ".well-known/tdmguard-keys.json" not in {f["path"] for f in plain["files"]}


def test_keys_generate_refuses_to_overwrite(tmp_path: Path) -> None:
    ok("keys", "generate", "--out", str(tmp_path / "k"))
    code, _, err = cli("keys", "generate", "--out", str(tmp_path / "k"))
    assert code == ExitCode.INPUT and "refusing to overwrite" in err


def test_removal_and_update_deltas_then_verify_the_mirror(
        holder_side: tuple[Path, Side, Path], tmp_path: Path) -> None:
    """A holder removes a recording and replaces another's audio: the delta carries both,
    the mirror decides and identifies as the holder does, and `registry verify` on the
    mirror checks every mirrored row (exit 6 naming the first one edited afterwards)."""
    root, src_template, key = holder_side
    src = _copy_holder(src_template, tmp_path)
    pub = str(root / "aurora.key.pub")
    first = src("registry", "export", "--out", str(tmp_path / "s1"), "--sign-key", str(key),
                "--json")
    lab = Side(tmp_path, "lab")
    lab("registry", "pull", str(tmp_path / "s1"), "--trust", pub, "--json")
    src("work", "remove", "AUR-REC-02", "--holder", "Aurora Records", "--on", "2026-02-01",
        "--json")
    src("work", "update", "AUR-REC-01", "--holder", "Aurora Records", "--title", "Awakening II",
        "--set", "label=Aurora", "--audio", str(DATA / "audio" / "ref-chaos-god.ogg"), "--json")
    delta = src("registry", "export", "--out", str(tmp_path / "d1"), "--sign-key", str(key),
                "--since", str(first["seq"]), "--json")
    sent = [json.loads(line)["id"] for line in (tmp_path / "d1/tables/works.jsonl").open()]
    assert delta["kind"] == "delta" and sent == ["AUR-REC-01", "AUR-REC-02"]
    lab("registry", "pull", str(tmp_path / "d1"), "--trust", pub, "--json")
    works = [w["id"] for w in src("work", "list", "--json")]
    assert "AUR-REC-02" not in works
    assert lab("work", "list", "--json") == [
        w | {"fingerprints": []} for w in src("work", "list", "--json")]
    assert lab("work", "show", "AUR-REC-02", "--json")["removed_on"] == "2026-02-01"
    assert _decisions(lab, [*works, "AUR-REC-02"]) == _decisions(src, [*works, "AUR-REC-02"])
    assert _identify(lab) == _identify(src)
    nebula = lab("identify", str(QUERIES[0]), "--json")
    assert not any(m["work_id"] == "AUR-REC-02" for m in nebula["matches"])
    checked = lab("registry", "verify", "--json")
    assert checked["ok"] and checked["rows_checked"] >= 12
    # a mirrored row edited after the pull: named, exit 6
    with Registry.open(f"sqlite:///{lab.db}", create=False).engine.begin() as conn:
        conn.exec_driver_sql("UPDATE works SET title = 'x' WHERE public_id = 'AUR-REC-01'")
    err = lab("registry", "verify", code=ExitCode.INTEGRITY)
    assert "works row AUR-REC-01" in err and "changed outside tdmguard" in err
