from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from tdmguard.errors import InputError
from tdmguard.registry.store import NewWork, Registry
from tdmguard.scan.decide import DecisionSettings
from tdmguard.scan.job import ScanJob, registry_view
from tdmguard.scan.report_facts import MAX_ROWS, collect_facts
from tdmguard.scan.runner import run_scan
from tdmguard.vocab import DecisionKind, Purpose, Use
from tests.scan.conftest import JEANIE, LyricsWorld, wav_bytes
from tests.scan.test_report_facts import facts_view

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = "tests.scan.plugin_checks:make"


def _registry(db: Path) -> Registry:
    reg = Registry.open(f"sqlite:///{db}")
    reg.add_holder("Aurora")
    reg.add_holder("Meadow")
    reg.add_works("Aurora", [NewWork(title=f"A{i}", external_id=f"AUR-{i}") for i in range(3)])
    reg.add_works("Meadow", [NewWork(title="M0", external_id="MEA-0")])
    reg.reserve("Aurora", uses=[Use.TDM], effective_from=date(2025, 1, 1),
                purposes=[Purpose.COMMERCIAL])
    reg.grant_licence("Aurora", licensee="LicensedAI", uses=[Use.AI_TRAIN],
                      valid_from=date(2025, 1, 1), work_ids=["AUR-2"])
    return reg


def _dataset(folder: Path, n: int) -> None:
    folder.mkdir()
    for i in range(n):
        body = ["work:AUR-0", "work:MEA-0", "plain text", "boom", "work:AUR-1",
                "work:AUR-2"][i % 6]
        (folder / f"doc{i:04d}.txt").write_text(body + "\nmore\n")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blob.bin").write_bytes(bytes(range(256)) * 4)


def _job(tmp: Path, reg: Registry, out: Path, **kw: object) -> ScanJob:
    decision = DecisionSettings(use=Use.AI_TRAIN, purpose=Purpose.COMMERCIAL, actor="LicensedAI",
                                at=date(2026, 1, 1), unknown=DecisionKind.REVIEW)
    return ScanJob(source=tmp / "ds", out_dir=out, index_dir=tmp / "index", decision=decision,
                   view=registry_view(reg), checks=(PLUGIN, "audio-match"),
                   **kw)  # type: ignore[arg-type]


def test_scan_decides_with_reasons_and_evidence(tmp_path: Path) -> None:
    reg = _registry(tmp_path / "r.db")
    _dataset(tmp_path / "ds", 8)
    report = run_scan(_job(tmp_path, reg, tmp_path / "out", shard_size=3))
    out = tmp_path / "out"
    lines = {name: [json.loads(x) for x in (out / f"{name}.jsonl").read_text().splitlines()]
             for name in ("kept", "excluded", "review", "errors")}
    by_id = {r["id"]: r for rows in lines.values() for r in rows}
    assert len(by_id) == 10  # every record exactly once
    assert by_id["doc0000.txt"]["decision"] == "exclude"  # AUR-0, reserved, not licensed
    assert by_id["doc0000.txt"]["evidence"][0]["source"] == "registry:lyrics"
    assert {r["code"] for r in by_id["doc0000.txt"]["reasons"]} == {"reserved-holder-wide"}
    assert by_id["doc0000.txt"]["matches"][0]["work_id"] == "AUR-0"
    assert by_id["doc0001.txt"]["decision"] == "keep"  # MEA-0: Meadow reserved nothing
    assert by_id["doc0002.txt"]["decision"] == "review"  # no signal, --unknown review
    assert "plug-in bug" in by_id["doc0003.txt"]["error"]
    assert by_id["doc0004.txt"]["decision"] == "exclude"  # AUR-1
    # AUR-2 is licensed to this actor: kept, with the reservation and the licence as reasons.
    assert by_id["doc0005.txt"]["decision"] == "keep"
    assert [r["code"] for r in by_id["doc0005.txt"]["reasons"]] == [
        "reserved-holder-wide", "licensed"]
    assert by_id["doc0006.txt"]["decision"] == "exclude"
    assert by_id["doc0007.txt"]["decision"] == "keep"
    assert by_id["empty.txt"]["error"] == "empty file"
    assert by_id["blob.bin"]["decision"] == "review"  # unknown media, no signal
    assert report["counts"] == {"kept": 3, "excluded": 3, "review": 2, "errors": 2}
    assert report["by_holder"]["Aurora"] >= 2
    assert report["registry"]["digest"] == reg.state_digest()
    assert report["registry"]["content_digest"] == reg.content_digest()
    assert report["inputs"]["registry_content_digest"] == reg.content_digest()
    assert report["checks"]["skipped"]["audio-match"]


def test_refuses_non_empty_output_and_changed_plan(tmp_path: Path) -> None:
    reg = _registry(tmp_path / "r.db")
    _dataset(tmp_path / "ds", 4)
    run_scan(_job(tmp_path, reg, tmp_path / "out"))
    with pytest.raises(InputError, match="not empty"):
        run_scan(_job(tmp_path, reg, tmp_path / "out"))
    (tmp_path / "ds" / "new.txt").write_text("x")
    with pytest.raises(InputError, match="cannot resume"):
        run_scan(_job(tmp_path, reg, tmp_path / "out"), resume=True)


def test_a_resume_under_another_shard_size_says_which_to_give(tmp_path: Path) -> None:
    """A scan started with a shard size (or an older default) resumes only with that size:
    the error names the flag to give, not only that the plan changed."""
    reg = _registry(tmp_path / "r.db")
    _dataset(tmp_path / "ds", 4)
    run_scan(_job(tmp_path, reg, tmp_path / "out", shard_size=3))
    with pytest.raises(InputError, match="resume with --shard-size 3"):
        run_scan(_job(tmp_path, reg, tmp_path / "out"), resume=True)
    run_scan(_job(tmp_path, reg, tmp_path / "out", shard_size=3), resume=True)


def _cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "from tdmguard.cli.app import main; main()",
                             *args], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)


def _outputs(out: Path) -> dict[str, list[str]]:
    return {name: sorted((out / f"{name}.jsonl").read_text().splitlines())
            for name in ("kept", "excluded", "review", "errors")}


def _same_facts(out: Path, ref: Path) -> None:
    """The report's facts (merged from the shards' own tallies) match, the row sample too."""
    for max_rows in (MAX_ROWS, 3):
        assert facts_view(collect_facts([out], max_rows=max_rows)) == facts_view(
            collect_facts([ref], max_rows=max_rows)), max_rows
    assert json.loads((out / "report.json").read_text())["content"] == json.loads(
        (ref / "report.json").read_text())["content"]


def test_sigkill_then_resume_gives_the_same_output(tmp_path: Path) -> None:
    reg = _registry(tmp_path / "r.db")
    reg.close()
    _dataset(tmp_path / "ds", 120)
    env = dict(os.environ, TDMGUARD_DB=str(tmp_path / "r.db"), PYTHONPATH=str(ROOT))
    common = ["scan", str(tmp_path / "ds"), "--use", "ai-train", "--purpose", "commercial",
              "--actor", "LicensedAI", "--at", "2026-01-01", "--check", PLUGIN,
              "--shard-size", "4", "--workers", "2", "--json"]
    ref = _cli([*common, "--out", str(tmp_path / "ref")], env)
    assert ref.wait(120) == 13, ref.stderr.read() if ref.stderr else ""

    out = tmp_path / "killed"
    proc = _cli([*common, "--out", str(out), "--check-opt", "delay_s=0.02"], env)
    deadline = time.time() + 60
    while time.time() < deadline:
        shards = out / "shards"
        if shards.exists() and sum(1 for p in shards.iterdir() if p.name.isdigit()) >= 4:
            break
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    done = sum(1 for p in (out / "shards").iterdir() if p.name.isdigit())
    assert 4 <= done < 31, "the scan must be killed mid-way for this test to mean anything"
    assert not (out / "report.json").exists()

    resumed = _cli([*common, "--out", str(out), "--check-opt", "delay_s=0.02", "--resume"], env)
    assert resumed.wait(120) == 13, resumed.stderr.read() if resumed.stderr else ""
    report = json.loads(resumed.stdout.read() if resumed.stdout else b"{}")
    assert report["resumed"] is True
    assert _outputs(out) == _outputs(tmp_path / "ref")
    _same_facts(out, tmp_path / "ref")
    assert sum(report["counts"].values()) == 122


# --- fail closed ---------------------------------------------------------------------------


def test_index_missing_a_registered_modality_refuses_before_writing(
    tmp_path: Path, lyrics_world: LyricsWorld
) -> None:
    import shutil

    from tdmguard.errors import IndexStoreError

    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "a.txt").write_text("some text")
    shutil.rmtree(lyrics_world.index / "lyrics")  # a modality folder deleted
    with pytest.raises(IndexStoreError, match=r"2 lyrics fingerprint"):
        run_scan(lyrics_world.job(tmp_path / "ds", tmp_path / "out"))
    assert not (tmp_path / "out").exists()
    mistyped = replace(lyrics_world.job(tmp_path / "ds", tmp_path / "out2"),
                       index_dir=tmp_path / "indx")
    with pytest.raises(IndexStoreError, match="no lyrics folder"):
        run_scan(mistyped)
    assert not (tmp_path / "out2").exists()


def test_pool_preflight_sees_the_index_start_without_opening_it(
    tmp_path: Path, lyrics_world: LyricsWorld
) -> None:
    """A pool or Ray scan's driver checks each built-in content check's index (manifest,
    engine, segment folders) instead of opening it; anything off is left to building the
    check, which says what is wrong."""
    import shutil

    from tdmguard.errors import MissingExtraError
    from tdmguard.fingerprint.engines import get_engine
    from tdmguard.scan.checks import CHECK_FACTORIES
    from tdmguard.scan.runner import _content_modality, _engine_name, _seen_to_start
    from tdmguard.scan.shard import build_checks
    from tdmguard.vocab import Modality

    for modality in Modality:  # read from the class, without constructing the engine
        try:
            assert _engine_name(modality) == get_engine(modality).engine
        except MissingExtraError:
            assert _engine_name(modality) is None
    job = lyrics_world.job(tmp_path / "ds", tmp_path / "out", workers=2)
    # the convention read from the factories' names matches what the checks open
    for name in CHECK_FACTORIES:
        modality = _content_modality(name)
        if modality is not None:
            assert name == f"{modality.value}-match"
    assert _content_modality("url-signals") is None and _content_modality(PLUGIN) is None
    built = build_checks(job).checks[0]
    assert built.matcher.engine.modality is _content_modality("lyrics-match")  # type: ignore[attr-defined]
    assert _seen_to_start(job, "lyrics-match")
    # no image folder and no image fingerprints: the check would have nothing to do
    assert _seen_to_start(job, "image-match")
    assert not _seen_to_start(job, PLUGIN)
    manifest = lyrics_world.index / "lyrics" / "manifest.json"
    good = manifest.read_bytes()
    data = json.loads(good)
    for bad in (b"{not json", json.dumps(data | {"engine": "lyrics-ngram3/0"}).encode(),
                json.dumps(data | {"segments": [*data["segments"], "seg-gone"]}).encode()):
        manifest.write_bytes(bad)
        assert not _seen_to_start(job, "lyrics-match")
    manifest.write_bytes(good)
    shutil.rmtree(lyrics_world.index / "lyrics")  # registered fingerprints, no folder
    assert not _seen_to_start(job, "lyrics-match")


def test_a_pool_scans_driver_opens_no_index(tmp_path: Path, lyrics_world: LyricsWorld) -> None:
    """The workers open the engine and the index; the driver (a fresh process here) never
    imports the index or the matcher, and the scan still finds the reserved lyric."""
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "a.txt").write_text(JEANIE)
    (tmp_path / "ds" / "b.txt").write_text("nothing registered here")
    lyrics_world.registry.close()
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from datetime import date\n"
        "from tdmguard.registry.store import Registry\n"
        "from tdmguard.scan.decide import DecisionSettings\n"
        "from tdmguard.scan.job import ScanJob, registry_view\n"
        "from tdmguard.scan.runner import run_scan\n"
        "from tdmguard.vocab import Purpose, Use\n"
        f"db, index, tmp = Path({str(lyrics_world.db)!r}), Path({str(lyrics_world.index)!r}),"
        f" Path({str(tmp_path)!r})\n"
        "reg = Registry.open(f'sqlite:///{db}', create=False)\n"
        "decision = DecisionSettings(Use.AI_TRAIN, Purpose.COMMERCIAL, 'SomeAI',"
        " date(2026, 1, 1))\n"
        "job = ScanJob(source=tmp / 'ds', out_dir=tmp / 'out', index_dir=index, decision=decision,"
        " view=registry_view(reg), checks=('lyrics-match',), workers=2)\n"
        "reg.close()\n"
        "report = run_scan(job)\n"
        "print(json.dumps({'counts': report['counts'], 'loaded': sorted(m for m in sys.modules"
        " if m in ('numba', 'tdmguard.registry.matching', 'tdmguard.index'))}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         timeout=120, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert out.returncode == 0, out.stderr.decode()
    result = json.loads(out.stdout.decode().strip().splitlines()[-1])
    assert result["loaded"] == []
    assert result["counts"]["excluded"] == 1 and result["counts"]["kept"] == 1


def test_pool_scan_refuses_an_index_of_another_engine_before_writing(
    tmp_path: Path, lyrics_world: LyricsWorld
) -> None:
    from tdmguard.errors import IndexStoreError

    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "a.txt").write_text(JEANIE)
    manifest = lyrics_world.index / "lyrics" / "manifest.json"
    manifest.write_text(json.dumps(json.loads(manifest.read_text()) | {"engine": "old/1"}))
    with pytest.raises(IndexStoreError, match="index build"):
        run_scan(lyrics_world.job(tmp_path / "ds", tmp_path / "out", workers=2))
    assert not (tmp_path / "out").exists()


def test_workers_that_cannot_open_the_index_fail_with_the_index_error(
    tmp_path: Path, lyrics_world: LyricsWorld
) -> None:
    """A segment unreadable (not seen by the driver's light pre-flight) breaks the pool's
    workers at start; the scan then raises the index's own error (exit 8), not a broken
    pool."""
    from tdmguard.errors import IndexStoreError

    (tmp_path / "ds").mkdir()
    for i in range(4):
        (tmp_path / "ds" / f"a{i}.txt").write_text(JEANIE)
    segment = next(p for p in (lyrics_world.index / "lyrics").iterdir() if p.is_dir())
    (segment / "keys.npy").write_bytes(b"not an array")
    with pytest.raises(IndexStoreError, match="corrupt segment"):
        run_scan(lyrics_world.job(tmp_path / "ds", tmp_path / "out", workers=2,
                                  shard_size=1))


def test_cli_exit_codes_8_13_14_and_a_check_that_fails_to_load(
    tmp_path: Path, lyrics_world: LyricsWorld
) -> None:
    import shutil

    lyrics_world.registry.close()
    env = dict(os.environ, TDMGUARD_DB=str(lyrics_world.db), TDMGUARD_INDEX=str(lyrics_world.index),
               PYTHONPATH=str(ROOT))
    ds = tmp_path / "ds"
    ds.mkdir()
    (ds / "lyric.txt").write_text(JEANIE)
    (ds / "archive.tar.gz").write_bytes(b"\x1f\x8b not really")
    common = ["--actor", "X", "--json", "--workers", "1"]

    def run(*args: str) -> tuple[int, str]:
        proc = _cli([*args, *common], env)
        out, err = proc.communicate(timeout=120)
        return proc.returncode, (out + err).decode("utf-8", "replace")

    code, text = run("scan", str(ds), "--out", str(tmp_path / "bad"), "--check",
                     "tests.scan.plugin_checks:nope")
    assert code == 3 and "cannot load check" in text and "Traceback" not in text
    assert not (tmp_path / "bad").exists()
    code, _ = run("scan", str(ds), "--out", str(tmp_path / "some"))
    assert code == 13  # the .tar.gz is not a readable tar shard: an error, never kept
    errors = _rows(tmp_path / "some", "errors")
    assert [e["id"] for e in errors] == ["archive.tar.gz"]
    (ds / "lyric.txt").unlink()
    code, _ = run("scan", str(ds), "--out", str(tmp_path / "all"))
    assert code == 14
    shutil.rmtree(lyrics_world.index / "lyrics")
    code, text = run("scan", str(ds), "--out", str(tmp_path / "noindex"))
    assert code == 8 and "index build" in text
    assert not (tmp_path / "noindex").exists()


def test_hostile_names_ids_and_content_never_break_the_outputs(
    tmp_path: Path, lyrics_world: LyricsWorld
) -> None:
    ds = tmp_path / "ds"
    ds.mkdir()
    with open(os.fsencode(str(ds)) + b"/caf\xe9-\xff.txt", "wb") as fh:
        fh.write(JEANIE.encode())  # a reserved lyric under a non-UTF-8 name
    (ds / "blob.bin").write_bytes(bytes(range(256)) * 8)  # unknown binary
    (ds / "silent.wav").write_bytes(wav_bytes(seconds=0))  # decodes to zero samples
    (ds / "m.jsonl").write_text('{"id": "\\udcff", "text": "x"}\n')  # read as a text file
    out = tmp_path / "out"
    report = run_scan(lyrics_world.job(ds, out))
    rows = {name: _rows(out, name) for name in ("kept", "excluded", "review", "errors")}
    excluded = [r["id"] for r in rows["excluded"]]
    assert excluded == ["caf\\udce9-\\udcff.txt"]  # escaped, valid UTF-8
    assert [r["id"] for r in rows["review"]] == ["blob.bin"]  # never kept: not checked
    assert rows["review"][0]["reasons"][-1]["code"] == "content-not-checked"
    assert [r["id"] for r in rows["errors"]] == ["silent.wav"]
    assert "zero samples" in rows["errors"][0]["error"]
    assert report["counts"] == {"kept": 1, "excluded": 1, "review": 1, "errors": 1}

    rows_src = tmp_path / "m.jsonl"
    rows_src.write_text('{"id": "\\ud800x", "text": "lone surrogate"}\n{"id": "ok", "text": "y"}\n')
    run_scan(lyrics_world.job(rows_src, tmp_path / "out2"))
    kept = _rows(tmp_path / "out2", "kept")
    assert [r["id"] for r in kept] == ["\\ud800x", "ok"]


def _scanned_six_texts(
    tmp_path: Path, lyrics_world: LyricsWorld
) -> tuple[Path, Path, dict[str, list[str]]]:
    """Six texts (three of them the reserved lyric) scanned in shards of two: the folder,
    the output folder and its outputs."""
    ds = tmp_path / "ds"
    ds.mkdir()
    for i in range(6):
        (ds / f"{i}.txt").write_text(JEANIE if i % 2 else "plain")
    out = tmp_path / "out"
    run_scan(lyrics_world.job(ds, out, shard_size=2))
    return ds, out, _outputs(out)


def test_resume_removes_what_a_kill_left_behind(tmp_path: Path, lyrics_world: LyricsWorld) -> None:
    ds, out, ref = _scanned_six_texts(tmp_path, lyrics_world)
    import shutil

    shutil.rmtree(out / "shards" / "000001")
    (out / "report.json").unlink()
    (out / "shards" / ".000001.abc").mkdir()
    (out / "shards" / ".000001.abc" / "kept.jsonl").write_text("half")
    (out / "shards" / ".media-000001-x").mkdir()
    report = run_scan(lyrics_world.job(ds, out, shard_size=2), resume=True)
    assert report["resumed"] is True
    assert not [p for p in (out / "shards").iterdir() if p.name.startswith(".")]
    assert _outputs(out) == ref


def test_resume_reruns_a_committed_shard_a_machine_crash_left_short(
    tmp_path: Path, lyrics_world: LyricsWorld
) -> None:
    """Shards commit without fsync (a killed process loses nothing the kernel holds); what
    a machine crash could leave, a committed shard with short files or broken stats, is
    found on resume and run again, so no record is lost."""
    ds, out, ref = _scanned_six_texts(tmp_path, lyrics_world)
    (out / "report.json").unlink()
    (out / "shards" / "000000" / "excluded.jsonl").write_bytes(b"")  # its line was lost
    (out / "shards" / "000002" / "stats.json").write_text("")  # the stats were lost
    report = run_scan(lyrics_world.job(ds, out, shard_size=2), resume=True)
    assert report["resumed"] is True
    assert _outputs(out) == ref
    assert sum(report["counts"].values()) == 6


def _rows(out: Path, name: str) -> list[dict[str, object]]:
    raw = (out / f"{name}.jsonl").read_bytes()
    return [json.loads(x) for x in raw.decode("utf-8").splitlines()]


# --- resume after SIGKILL, every source kind -----------------------------------------------


def _make_source(kind: str, root: Path) -> str:
    import gzip

    texts = [f"work:AUR-{i % 3}" if i % 2 else f"plain {i}" for i in range(40)]
    if kind == "webdataset":
        import webdataset as wds

        (root / "wds").mkdir()
        for s in range(2):
            with wds.TarWriter(str(root / "wds" / f"s-{s:03d}.tar")) as sink:
                for j in range(20):
                    sink.write({"__key__": f"k{s}{j:03d}", "txt": texts[s * 20 + j],
                                "json": {"i": j}})
        return str(root / "wds" / "s-{000..001}.tar")
    if kind == "huggingface":
        import datasets

        datasets.Dataset.from_dict({"text": texts}).save_to_disk(str(root / "hf"),
                                                                   max_shard_size="1KB")
        return str(root / "hf")
    if kind == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        (root / "pq").mkdir()
        for part in range(2):
            pq.write_table(pa.table({"text": texts[part * 20:(part + 1) * 20]}),
                           root / "pq" / f"p{part}.parquet", row_group_size=7)
        return str(root / "pq")
    if kind == "jsonl.gz":
        rows = [json.dumps({"id": f"r{i}", "text": t}) for i, t in enumerate(texts)]
        (root / "m.jsonl.gz").write_bytes(gzip.compress(("\n".join(rows) + "\n").encode()))
        return str(root / "m.jsonl.gz")
    rows = ["id,text", *[f"r{i},{t}" for i, t in enumerate(texts)]]
    (root / "m.csv").write_text("\n".join(rows) + "\n")
    return str(root / "m.csv")


@pytest.mark.parametrize("kind", [
    "webdataset", "huggingface",
    pytest.param("parquet", marks=pytest.mark.slow),
    pytest.param("jsonl.gz", marks=pytest.mark.slow),
    pytest.param("csv", marks=pytest.mark.slow),
])
def test_sigkill_then_resume_for_every_source_kind(tmp_path: Path, kind: str) -> None:
    reg = _registry(tmp_path / "r.db")
    reg.close()
    source = _make_source(kind, tmp_path)
    env = dict(os.environ, TDMGUARD_DB=str(tmp_path / "r.db"), PYTHONPATH=str(ROOT))
    common = ["scan", source, "--use", "ai-train", "--purpose", "commercial", "--actor",
              "LicensedAI", "--at", "2026-01-01", "--check", PLUGIN, "--shard-size", "2",
              "--workers", "2", "--json", "--write-kept"]
    ref = _cli([*common, "--out", str(tmp_path / "ref")], env)
    assert ref.wait(120) == 0, ref.stderr.read() if ref.stderr else ""
    out = tmp_path / "killed"
    slow = ["--check-opt", "delay_s=0.05"]
    proc = _cli([*common, "--out", str(out), *slow], env)
    deadline = time.time() + 60
    while time.time() < deadline:
        shards = out / "shards"
        if shards.exists() and sum(1 for p in shards.iterdir() if p.name.isdigit()) >= 3:
            break
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    done = sum(1 for p in (out / "shards").iterdir() if p.name.isdigit())
    assert 3 <= done < 20
    resumed = _cli([*common, "--out", str(out), *slow, "--resume"], env)
    assert resumed.wait(120) == 0, resumed.stderr.read() if resumed.stderr else ""
    assert _outputs(out) == _outputs(tmp_path / "ref")
    _same_facts(out, tmp_path / "ref")
    assert sum(json.loads((out / "report.json").read_text())["counts"].values()) == 40
    ref_kept = sorted(p.relative_to(tmp_path / "ref" / "kept").as_posix()
                      for p in (tmp_path / "ref" / "kept").rglob("*") if p.is_file())
    got_kept = sorted(p.relative_to(out / "kept").as_posix()
                      for p in (out / "kept").rglob("*") if p.is_file())
    assert got_kept == ref_kept and ref_kept
    for rel in ref_kept:
        if rel.endswith((".jsonl", ".csv", ".tar")):
            assert (out / "kept" / rel).read_bytes() == (tmp_path / "ref" / "kept" / rel
                                                         ).read_bytes(), rel


# --- per-item budget, no lingering workers -------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2])
def test_an_item_over_its_time_budget_is_an_error_and_the_scan_goes_on(
    tmp_path: Path, workers: int
) -> None:
    reg = _registry(tmp_path / "r.db")
    _dataset(tmp_path / "ds", 3)
    job = replace(_job(tmp_path, reg, tmp_path / "out", workers=workers, shard_size=2,
                       check_options={"delay_s": "3"}), item_timeout_s=0.3)
    t0 = time.time()
    report = run_scan(job)
    assert time.time() - t0 < 20
    errors = _rows(tmp_path / "out", "errors")
    timed_out = [e["id"] for e in errors if "per-item time budget" in str(e["error"])]
    assert sorted(timed_out) == ["doc0000.txt", "doc0001.txt", "doc0002.txt"]
    assert report["counts"]["errors"] == 4  # + the empty file


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.update(int(x) for x in text)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_killing_the_scan_parent_ends_its_workers(tmp_path: Path) -> None:
    reg = _registry(tmp_path / "r.db")
    reg.close()
    _dataset(tmp_path / "ds", 60)
    env = dict(os.environ, TDMGUARD_DB=str(tmp_path / "r.db"), PYTHONPATH=str(ROOT))
    proc = _cli(["scan", str(tmp_path / "ds"), "--out", str(tmp_path / "out"), "--actor", "X",
                 "--check", PLUGIN, "--check-opt", "delay_s=0.2", "--workers", "2",
                 "--shard-size", "2"], env)
    deadline = time.time() + 60
    workers: set[int] = set()
    while time.time() < deadline and len(workers) < 2:
        workers = {c for c in _children(proc.pid) if _alive(c)}
        time.sleep(0.05)
    assert len(workers) >= 2
    os.kill(proc.pid, signal.SIGKILL)  # the parent only, not its process group
    proc.wait(30)
    deadline = time.time() + 20
    while time.time() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers)


def test_the_driver_objects_are_frozen_for_the_report_and_thawed_after(
    tmp_path: Path, lyrics_world: LyricsWorld, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The driver's work after the shards runs with the objects it held before frozen
    (runner._gc_frozen: not walked by the cyclic collector, which stays on for what the
    tail makes), thawed after, even when that work fails; a caller's own freeze is left
    alone."""
    import gc

    from tdmguard.scan import runner

    seen: list[tuple[int, bool]] = []
    real = runner.collect_facts

    def facts(*args: object, **kw: object) -> object:
        seen.append((gc.get_freeze_count(), gc.isenabled()))
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(runner, "collect_facts", facts)
    ds = tmp_path / "ds"
    ds.mkdir()
    for i in range(4):
        (ds / f"{i}.txt").write_text(JEANIE if i % 2 else "plain")
    assert gc.get_freeze_count() == 0
    try:
        run_scan(lyrics_world.job(ds, tmp_path / "out", shard_size=2))
        assert len(seen) == 1 and seen[0][0] > 1000 and seen[0][1] is gc.isenabled()
        assert gc.get_freeze_count() == 0

        def boom(*args: object, **kw: object) -> object:
            raise RuntimeError("facts failed")

        monkeypatch.setattr(runner, "collect_facts", boom)
        with pytest.raises(RuntimeError, match="facts failed"):
            run_scan(lyrics_world.job(ds, tmp_path / "out2", shard_size=2))
        assert gc.get_freeze_count() == 0

        monkeypatch.setattr(runner, "collect_facts", facts)
        gc.freeze()
        frozen = gc.get_freeze_count()
        run_scan(lyrics_world.job(ds, tmp_path / "out3", shard_size=2))
        assert 0 < gc.get_freeze_count() <= frozen  # neither thawed nor frozen again
    finally:
        gc.unfreeze()
