"""The CLI shapes that later issues and users rely on (issue 2, section 5)."""

from __future__ import annotations

from pathlib import Path

from tdmguard.cli.exit_codes import ExitCode


def test_contract_shapes(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("holder", "add", "Aurora Records", "--json") == {"id": 1, "name": "Aurora Records"}
    assert run("holder", "add", "Meadow", "--json")["id"] == 2
    work = run("work", "add", "--holder", "Aurora Records", "--title", "Dawn", "--artist", "X",
               "--isrc", "GBAYE2500001", "--id", "AUR-1", "--json")
    assert work["id"] == "AUR-1"
    assert run("work", "add", "--holder", "2", "--title", "Song", "--json")["id"] == "W000002"
    res = run("reserve", "--holder", "Aurora Records", "--use", "tdm", "--purpose",
              "commercial", "--from", "2025-01-01", "--declared-at", "https://a.example/tdm",
              "--json")
    assert res["uses"] == ["tdm"] and res["works"] == []
    run("licence", "grant", "--holder", "Aurora Records", "--licensee", "OpenCo", "--use",
        "ai-train", "--from", "2025-02-01", "--work", "AUR-1", "--json")
    d = run("decide", "--work", "AUR-1", "--use", "ai-train", "--purpose", "commercial",
            "--actor", "Someone", "--at", "2026-01-01", "--json")
    assert d["decision"] == "exclude" and d["reasons"][0]["code"] == "reserved-holder-wide"
    d = run("decide", "--work", "AUR-1", "--use", "ai-train", "--purpose", "commercial",
            "--actor", "OpenCo", "--at", "2026-01-01", "--json")
    assert d["decision"] == "keep"
    works = run("work", "list", "--json")
    assert [(w["id"], w["holder"], w["kind"], w["isrc"]) for w in works] == [
        ("AUR-1", "Aurora Records", "recording", "GBAYE2500001"),
        ("W000002", "Meadow", "recording", None)]
    assert run("work", "list", "--holder", "Meadow", "--json")[0]["title"] == "Song"
    shown = run("work", "show", "AUR-1", "--json")
    assert len(shown["reservations"]) == 1 and len(shown["licences"]) == 1
    run("licence", "revoke", "1", "--on", "2025-12-01", "--json")
    d = run("decide", "--work", "AUR-1", "--use", "ai-train", "--purpose", "commercial",
            "--actor", "OpenCo", "--at", "2026-01-01", "--json")
    assert d["decision"] == "exclude"
    assert run("registry", "verify", "--json")["ok"] is True
    assert "AUR-1" in str(run("work", "list"))  # the human table
    assert (tmp_path / "cli.db").exists()


def test_errors_are_one_line_with_exit_codes(run) -> None:  # type: ignore[no-untyped-def]
    out = run("decide", "--work", "nope", "--use", "ai-train", "--purpose", "commercial",
              "--actor", "A", code=ExitCode.NOT_FOUND)
    assert "no work with id 'nope'" in out and "Traceback" not in out
    out = run("reserve", "--holder", "x", "--use", "tdm", "--from", "2025-13-01",
              code=ExitCode.INPUT)
    assert "--from" in out
    run("holder", "add", "A")
    run("holder", "add", "A", code=ExitCode.CONFLICT)
    out = run("reserve", "--holder", "A", "--use", "nonsense", "--from", "2025-01-01",
              code=ExitCode.INPUT)
    assert "unknown use 'nonsense'" in out


def test_import_is_all_or_nothing(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("holder", "add", "H")
    good = tmp_path / "cat.csv"
    good.write_text("id,title,artists,isrc,kind\nH-1,One,A;B,GBAYE2500001,recording\n"
                    "H-2,Two,,,lyrics\n")
    assert run("work", "import", str(good), "--holder", "H", "--json")["imported"] == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("id,title,isrc\nH-3,Three,\nH-4,Four,NOT-AN-ISRC\n")
    out = run("work", "import", str(bad), "--holder", "H", code=ExitCode.INPUT)
    assert "bad.csv:3" in out and "isrc" in out
    jl = tmp_path / "cat.jsonl"
    jl.write_text('{"id": "H-5", "title": "Five", "artists": ["Z"]}\n{"id": "H-6", "title": 3}\n'
                  '{"id": "H-7", "title": "x", "audio": "missing.ogg"}\n')
    out = run("work", "import", str(jl), "--holder", "H", code=ExitCode.INPUT)
    assert "cat.jsonl:3" in out and "audio" in out and "missing.ogg" in out
    assert [w["id"] for w in run("work", "list", "--json")] == ["H-1", "H-2"]
    dup = tmp_path / "dup.jsonl"
    dup.write_text('{"id": "H-1", "title": "again"}\n')
    run("work", "import", str(dup), "--holder", "H", code=ExitCode.CONFLICT)
    garbage = tmp_path / "g.jsonl"
    garbage.write_text('{"id": "H-9", "title": "ok"}\n[1, 2\n')
    out = run("work", "import", str(garbage), "--holder", "H", code=ExitCode.INPUT)
    assert "g.jsonl:2" in out


def test_audit_tamper_is_reported(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    run("holder", "add", "H")
    run("holder", "add", "I")
    con = sqlite3.connect(tmp_path / "cli.db")
    con.execute("UPDATE audit_log SET payload = replace(payload, 'H', 'Q') WHERE seq = 1")
    con.commit()
    out = run("registry", "verify", code=ExitCode.INTEGRITY)
    assert "audit entry 1" in out


def test_usage_errors_exit_2_without_traceback(run) -> None:  # type: ignore[no-untyped-def]
    out = run("holder", "add", code=ExitCode.USAGE)
    assert "Missing argument" in out and "Traceback" not in out
    out = run("scan", "--bogus", code=ExitCode.USAGE)
    assert "No such option" in out


def test_blank_media_is_refused_not_registered_empty(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    Image.new("RGB", (300, 300), (128, 128, 128)).save(tmp_path / "blank.png")
    run("holder", "add", "H")
    out = run("work", "add", "--holder", "H", "--title", "Blank", "--image",
              str(tmp_path / "blank.png"), code=ExitCode.INPUT)
    assert "blank.png" in out and "nothing to fingerprint" in out
    assert run("work", "list", "--json") == []


def test_scan_and_identify_never_create_a_registry(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "a.txt").write_text("hello")
    out = run("scan", str(tmp_path / "ds"), "--out", str(tmp_path / "out"), "--actor", "X",
              code=ExitCode.REGISTRY)
    assert "registry init" in out
    run("identify", str(tmp_path / "ds" / "a.txt"), code=ExitCode.REGISTRY)
    assert not (tmp_path / "cli.db").exists()


def test_work_add_media_index_build_and_identify(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tdmguard.demo import demo_data_dir

    lyrics = demo_data_dir() / "lyrics"
    run("holder", "add", "Meadow")
    work = run("work", "add", "--holder", "Meadow", "--title", "Jeanie", "--id", "MEA-1",
               "--lyrics", str(lyrics / "jeanie_with_the_light_brown_hair.txt"), "--json")
    assert work["fingerprints"] == ["lyrics"]
    forum = str(lyrics / "training" / "forum_thread_old_songs.txt")
    before = run("identify", forum, "--json")
    built = run("index", "build", "--json")
    assert [(m["modality"], m["works"], m["stale_fingerprints"]) for m in built["modalities"]] \
        == [("lyrics", 1, 0)]
    after = run("identify", forum, "--json")
    assert before == after  # the index appended at registration equals the rebuilt one
    assert after["matches"][0]["work_id"] == "MEA-1"
    assert after["matches"][0]["holder"] == "Meadow"
    assert after["matches"][0]["ref_start_line"] >= 1


def test_unwritable_output_is_one_line(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("holder", "add", "H")
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "a.txt").write_text("hello")
    (tmp_path / "file").write_text("a file where the output folder should go")
    out = run("scan", str(tmp_path / "ds"), "--out", str(tmp_path / "file" / "out"),
              "--actor", "X", code=ExitCode.FILESYSTEM)
    assert "file" in out and "Traceback" not in out
