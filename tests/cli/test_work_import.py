"""A catalogue manager's week through the CLI: re-import with new, changed and removed rows,
dry runs, spreadsheets as LibreOffice exports them, unfingerprintable media, and a kill -9
in the middle of an import (issue 16)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[2] / "src" / "tdmguard" / "demo" / "data"
CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "catalogue"
Run = Callable[..., object]




@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A catalogue folder with real lyrics and artwork files."""
    cat = tmp_path / "catalogue"
    (cat / "media").mkdir(parents=True)
    for name in ("jeanie_with_the_light_brown_hair.txt", "der_lindenbaum.txt",
                 "alexanders_ragtime_band.lrc"):
        shutil.copy(DEMO / "lyrics" / name, cat / "media" / name)
    shutil.copy(DEMO / "image" / "frog.png", cat / "media" / "frog.png")
    return cat


def _write(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


HEADER = "ID,Title,Artist,ISWC,Kind,Lyrics,Image,Label"
JEANIE = "media/jeanie_with_the_light_brown_hair.txt"


def test_weekly_reimport_upsert_then_sync(run: Run, folder: Path) -> None:
    run("holder", "add", "Meadow")
    run("reserve", "--holder", "Meadow", "--use", "tdm", "--purpose", "commercial",
        "--from", "2024-01-01")
    first = _write(folder / "catalogue.csv", [
        HEADER,
        f"MEA-1,Jeanie,Stephen Foster,T-034.524.680-1,lyrics,{JEANIE},,Meadow",
        "MEA-2,Lindenbaum,Franz Schubert,,lyrics,media/der_lindenbaum.txt,,Meadow",
    ])
    out = run("work", "import", str(first), "--holder", "Meadow", "--json")
    assert out["counts"]["add"] == 2 and out["imported"] == 2  # type: ignore[index]
    # Importing the same file again in add mode fails on the first existing id (as before)...
    assert "upsert" in str(run("work", "import", str(first), "--holder", "Meadow", code=5))
    # ...and in upsert mode changes nothing.
    again = run("work", "import", str(first), "--holder", "Meadow", "--mode", "upsert", "--json")
    assert again["counts"] == {"add": 0, "update": 0, "skip": 2, "remove": 0,  # type: ignore[index]
                               "refuse": 0}
    # Next week: one row added, one title changed, one row gone.
    second = _write(folder / "catalogue.csv", [
        HEADER,
        f"MEA-1,Jeanie (remastered),Stephen Foster,T-034.524.680-1,lyrics,{JEANIE},,Meadow",
        "MEA-3,Ragtime Band,Irving Berlin,,lyrics,media/alexanders_ragtime_band.lrc,,Meadow",
    ])
    dry = run("work", "import", str(second), "--holder", "Meadow", "--mode", "sync",
              "--dry-run", "--json")
    assert dry["applied"] is False  # type: ignore[index]
    assert [(r["line"], r["id"], r["action"]) for r in dry["rows"]] == [  # type: ignore[index]
        (2, "MEA-1", "update"), (3, "MEA-3", "add"), (None, "MEA-2", "remove")]
    assert dry["rows"][0]["changes"] == ["title"]  # type: ignore[index]
    assert len(run("work", "list", "--json")) == 2  # type: ignore[arg-type]
    # sync removes only when confirmed
    assert "--yes" in str(run("work", "import", str(second), "--holder", "Meadow", "--mode",
                              "sync", code=2))
    done = run("work", "import", str(second), "--holder", "Meadow", "--mode", "sync", "--yes",
               "--json")
    assert done["counts"]["remove"] == 1 and done["applied"] is True  # type: ignore[index]
    assert {w["id"] for w in run("work", "list", "--json")} == {"MEA-1", "MEA-3"}  # type: ignore[union-attr]
    assert run("work", "show", "MEA-1", "--json")["title"] == "Jeanie (remastered)"  # type: ignore[index]
    # The removed work's history stays: before today it is judged as registered.
    before = run("decide", "--work", "MEA-2", "--use", "ai-train", "--purpose", "commercial",
                 "--actor", "Lab", "--at", "2025-01-01", "--json")
    assert before["decision"] == "exclude"  # type: ignore[index]
    assert before["reasons"][0]["via"] == "tdm"  # type: ignore[index]
    after = run("decide", "--work", "MEA-2", "--use", "ai-train", "--purpose", "commercial",
                "--actor", "Lab", "--json")
    assert after["decision"] == "keep"  # type: ignore[index]
    assert after["reasons"][0]["code"] == "work-removed"  # type: ignore[index]
    # ...and the index no longer finds it, while it finds the new work.
    gone = run("identify", str(folder / "media" / "der_lindenbaum.txt"), "--json")
    assert "MEA-2" not in json.dumps(gone)
    found = run("identify", str(folder / "media" / "alexanders_ragtime_band.lrc"), "--json")
    assert "MEA-3" in json.dumps(found)
    run("registry", "verify")
    log = [e["action"] for e in run("registry", "log", "--json")]  # type: ignore[union-attr]
    assert "work.update" in log and "work.remove" in log


def test_dry_run_lists_every_refused_row(run: Run, folder: Path) -> None:
    run("holder", "add", "Meadow")
    bad = _write(folder / "bad.csv", [
        HEADER,
        "MEA-1,Jeanie,Stephen Foster,T-034.524.680-2,lyrics,,,",
        "MEA-2,Song,X,,ballad,,,",
        "MEA-3,Song,X,,lyrics,../../etc/passwd,,",
        "MEA-4,,X,,lyrics,,,",
        "MEA-5,Fine,X,,lyrics,media/der_lindenbaum.txt,,",
        "MEA-5,Twice,X,,lyrics,,,",
    ])
    dry = run("work", "import", str(bad), "--holder", "Meadow", "--dry-run", "--json")
    rows = {r["line"]: r for r in dry["rows"]}  # type: ignore[index]
    assert rows[2]["field"] == "iswc" and "check digit" in rows[2]["reason"]
    assert rows[3]["field"] == "kind"
    assert rows[4]["field"] == "lyrics" and "outside" in rows[4]["reason"]
    assert rows[5]["field"] == "title"
    assert rows[6]["action"] == "add"
    assert rows[7]["field"] == "id" and "line 6" in rows[7]["reason"]
    err = str(run("work", "import", str(bad), "--holder", "Meadow", code=3))
    assert "bad.csv:2" in err and "5 refused rows" in err
    assert run("work", "list", "--json") == []


@pytest.mark.parametrize("name", ["libreoffice-utf8-semicolon.csv",
                                  "libreoffice-cp1252-semicolon-quoted.csv", "libreoffice.xlsx"])
def test_libreoffice_exports_import_with_extra_columns(run: Run, name: str) -> None:
    pytest.importorskip("openpyxl")
    run("holder", "add", "Aurora Records")
    out = run("work", "import", str(CORPUS / name), "--holder", "Aurora Records", "--json")
    assert out["counts"]["add"] == 3  # type: ignore[index]
    assert bool(out["warnings"]) == ("cp1252" in name)  # type: ignore[index]
    work = run("work", "show", "AUR-001", "--json")
    assert work["title"] == "Café Noir" and work["upc"] == "036000291452"  # type: ignore[index]
    assert work["extra"] == {"label": "Aurora Records",  # type: ignore[index]
                             "release_date": "2024-05-01"}
    assert "Aurora Records" in str(run("work", "show", "AUR-001"))


def test_unfingerprintable_media_fails_the_row_or_is_skipped(run: Run, folder: Path) -> None:
    run("holder", "add", "Meadow")
    (folder / "media" / "empty.txt").write_text("   \n", encoding="utf-8")
    cat = _write(folder / "c.csv", [
        HEADER,
        "MEA-1,Jeanie,Stephen Foster,,lyrics,media/jeanie_with_the_light_brown_hair.txt,,",
        "MEA-2,Blank,X,,lyrics,media/empty.txt,,",
    ])
    err = str(run("work", "import", str(cat), "--holder", "Meadow", code=3))
    assert "c.csv:3" in err and "--skip-unfingerprintable" in err
    assert run("work", "list", "--json") == []
    out = run("work", "import", str(cat), "--holder", "Meadow", "--skip-unfingerprintable",
              "--json")
    refused = [r for r in out["rows"] if r["action"] == "refuse"]  # type: ignore[index]
    assert [r["id"] for r in refused] == ["MEA-2"] and refused[0]["field"] == "media"
    assert [w["id"] for w in run("work", "list", "--json")] == ["MEA-1"]  # type: ignore[union-attr]


def test_work_update_and_remove(run: Run, folder: Path) -> None:
    run("holder", "add", "Meadow")
    run("holder", "add", "Other")
    run("work", "add", "--holder", "Meadow", "--title", "Jeanie", "--id", "MEA-1",
        "--lyrics", str(folder / "media" / "jeanie_with_the_light_brown_hair.txt"))
    out = run("work", "update", "MEA-1", "--holder", "Meadow", "--title", "Jeanie (live)",
              "--set", "label=Meadow", "--lyrics", str(folder / "media" / "der_lindenbaum.txt"),
              "--json")
    assert out["title"] == "Jeanie (live)" and out["extra"] == {"label": "Meadow"}  # type: ignore[index]
    # with the iscc extra the new lyrics also give the work a new ISCC
    iscc = ["iscc"] if importlib.util.find_spec("iscc_core") else []
    assert out["changes"] == sorted(["extra", "fingerprint.lyrics", "title", *iscc])  # type: ignore[index]
    found = run("identify", str(folder / "media" / "der_lindenbaum.txt"), "--json")
    assert "MEA-1" in json.dumps(found)
    assert "MEA-1" not in json.dumps(
        run("identify", str(folder / "media" / "jeanie_with_the_light_brown_hair.txt"), "--json"))
    run("work", "remove", "MEA-1", "--holder", "Other", code=4)
    removed = run("work", "remove", "MEA-1", "--holder", "Meadow", "--on", "2025-02-01",
                  "--json")
    assert removed["removed_on"] == "2025-02-01"  # type: ignore[index]
    assert run("work", "list", "--json") == []


def _children_of_group(pgid: int) -> list[int]:
    """Processes of process group ``pgid`` other than its leader (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we looked
        pid = int(stat.parent.name)
        if int(fields[2]) == pgid and pid != pgid:
            found.append(pid)
    return found


def test_kill_during_import_leaves_the_registry_as_it_was(tmp_path: Path, run: Run) -> None:
    run("holder", "add", "Aurora")
    cat = tmp_path / "big"
    (cat / "audio").mkdir(parents=True)
    rows = ["id,title,audio"]
    for i in range(160):
        src = sorted((DEMO / "audio").glob("ref-*.ogg"))[i % 3]
        shutil.copy(src, cat / "audio" / f"{i}.ogg")
        rows.append(f"AUR-{i},Track {i},audio/{i}.ogg")
    _write(cat / "catalogue.csv", rows)
    before = run("registry", "log", "--json")
    env = os.environ | {"TDMGUARD_DB": str(tmp_path / "cli.db")}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from tdmguard.cli.app import main; main()", "work", "import",
         str(cat / "catalogue.csv"), "--holder", "Aurora", "--workers", "2"],
        env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Killed once its fingerprinting workers run (not after a fixed time: on a fast machine
    # the whole import of 40 files took less than the 4 s this test once waited).
    deadline = time.monotonic() + 60
    while not _children_of_group(proc.pid) and proc.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    assert proc.poll() is None, "the import finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert run("work", "list", "--json") == []
    run("registry", "verify")
    assert run("registry", "log", "--json") == before
