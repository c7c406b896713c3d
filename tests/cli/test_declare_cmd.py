"""``tdmguard declare`` and ``tdmguard stamp`` end to end on a real registry, then a scan that
excludes the stamped file although its content is not registered."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli as run
from tests.declare.examples import CORPUS

pytest.importorskip("mutagen")




@pytest.fixture
def registry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    db = str(tmp_path / "reg.db")
    assert run(capsys, "--db", db, "registry", "init")[0] == 0
    assert (
        run(capsys, "--db", db, "holder", "add", "Example Music", "--contact", "ai@label.example")[
            0
        ]
        == 0
    )
    code, _, err = run(
        capsys, "--db", db, "work", "add", "--holder", "Example Music", "--title", "Awakening",
        "--isrc", "GB-ABC-26-00001", "--id", "awakening", "--kind", "recording",
    )  # fmt: skip
    assert code == 0, err
    return db


def test_declare_without_reservation_is_not_found(
    registry: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys,
        "--db",
        registry,
        "declare",
        "--holder",
        "Example Music",
        "--out",
        str(tmp_path / "b"),
    )
    assert code == 4 and "no reservation in force" in err


def test_declare_stamp_and_scan(
    registry: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = registry
    assert (
        run(
            capsys,
            "--db",
            db,
            "reserve",
            "--holder",
            "Example Music",
            "--use",
            "tdm",
            "--from",
            "2026-01-01",
        )[0]
        == 0
    )
    out_dir = tmp_path / "bundle"
    code, out, err = run(
        capsys, "--db", db, "declare", "--holder", "Example Music", "--out", str(out_dir), "--json"
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["declaration"]["base_url"] == "https://label.example"
    assert report["declaration"]["works"][0]["isrc"] == "GBABC2600001"
    assert (out_dir / ".well-known/tdmrep.json").exists() and (out_dir / "manifest.json").exists()

    data = tmp_path / "dataset"
    data.mkdir()
    shutil.copyfile(CORPUS / "awakening-excerpt.ogg", data / "stamped.ogg")
    shutil.copyfile(CORPUS / "chelsea-small.png", data / "stamped.png")
    shutil.copyfile(CORPUS / "awakening-excerpt.flac", data / "clean.flac")
    code, out, err = run(
        capsys, "--db", db, "stamp", str(data / "stamped.ogg"), str(data / "stamped.png"),
        "--holder", "Example Music", "--work", "awakening", "--json",
    )  # fmt: skip
    assert code == 0, err
    files = json.loads(out)["files"]
    assert [f["container"] for f in files] == ["OggVorbis", "PNG"]

    code, out, err = run(
        capsys, "--db", db, "scan", str(data), "--out", str(tmp_path / "scan"),
        "--actor", "ACME AI",
        "--workers", "1", "--json",
    )  # fmt: skip
    assert code == 0, err
    excluded = [
        json.loads(line) for line in (tmp_path / "scan" / "excluded.jsonl").read_text().splitlines()
    ]
    assert sorted(Path(str(e.get("path") or e.get("id"))).name for e in excluded) == [
        "stamped.ogg",
        "stamped.png",
    ]


def test_stamp_reports_bad_files_with_exit_code(
    registry: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = registry
    run(
        capsys,
        "--db",
        db,
        "reserve",
        "--holder",
        "Example Music",
        "--use",
        "ai-train",
        "--from",
        "2026-01-01",
    )
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"not audio at all")
    code, _, err = run(capsys, "--db", db, "stamp", str(bad), "--holder", "Example Music")
    assert code == 3 and "bad.mp3" in err


def test_declare_from_json_without_registry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.declare.examples import example_declaration

    decl_file = tmp_path / "decl.json"
    decl_file.write_text(json.dumps(example_declaration().to_json()))
    code, out, err = run(capsys, "declare", "--from-json", str(decl_file),
                         "--out", str(tmp_path / "b"),
                         "--base-url", "https://music.example", "--json")  # fmt: skip
    assert code == 0, err
    assert "https://music.example/robots.txt" in out
    code, _, err = run(
        capsys,
        "declare",
        "--from-json",
        str(tmp_path / "missing.json"),
        "--out",
        str(tmp_path / "c"),
    )
    assert code == 3 and "missing.json" in err


def test_publish_demo_on_the_demo_registry(tmp_path: Path) -> None:
    from tdmguard.cli.declare_cmd import publish_demo
    from tdmguard.registry.store import Registry
    from tdmguard.signals.metadata import read_embedded
    from tdmguard.vocab import Stance, Use

    reg = Registry.open(f"sqlite:///{tmp_path / 'demo.db'}")
    reg.add_holder("Aurora Records", contact="licensing@aurora.example")
    from datetime import date

    reg.reserve("Aurora Records", uses=[Use.TDM], effective_from=date(2024, 5, 16))
    out = publish_demo(reg, "Aurora Records", tmp_path / "demo")
    reg.close()
    assert (tmp_path / "demo/declaration/robots.txt").exists()
    stamped = sorted((tmp_path / "demo/stamped").iterdir())
    assert [p.name for p in stamped] == ["awakening-excerpt.ogg", "chelsea-artwork.png"]
    assert len(out["stamped"]) == 2  # type: ignore[arg-type]
    for path in stamped:
        reading = read_embedded(path, c2pa=False)
        assert any(v.stance(Use.AI_TRAIN) is Stance.DENY for v in reading.verdicts)


def test_stamp_with_c2pa_manifest(
    registry: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("c2pa")
    from tdmguard.signals.metadata.c2pa_manifest import read_c2pa
    from tdmguard.vocab import Stance, Use
    from tests.declare.c2pa_test_ca import make_test_ca

    db = registry
    run(capsys, "--db", db, "reserve", "--holder", "Example Music", "--use", "genai-train",
        "--from", "2026-01-01")  # fmt: skip
    ca = make_test_ca(tmp_path / "ca")
    target = tmp_path / "a.jpg"
    shutil.copyfile(CORPUS / "coffee-small.jpg", target)
    code, _, err = run(capsys, "--db", db, "stamp", str(target), "--holder", "Example Music",
                       "--c2pa", "--cert", str(ca.cert_path), "--key", str(ca.key_path),
                       "--json")  # fmt: skip
    assert code == 0, err
    verdicts, _ = read_c2pa(target, trust_anchors_pem=ca.root_pem)
    assert verdicts and verdicts[0].stances == {Use.GENAI_TRAIN: Stance.DENY}
    code, _, err = run(capsys, "--db", db, "stamp", str(target), "--holder", "Example Music",
                       "--c2pa", "--cert", str(ca.cert_path))  # fmt: skip
    assert code == 2 and "--key" in err
    ogg = tmp_path / "a.ogg"
    shutil.copyfile(CORPUS / "awakening-excerpt.ogg", ogg)
    code, _, err = run(capsys, "--db", db, "stamp", str(ogg), "--holder", "Example Music",
                       "--c2pa", "--cert", str(ca.cert_path),
                       "--key", str(ca.key_path))  # fmt: skip
    assert code == 3 and "room for a C2PA manifest" in " ".join(err.split())


def test_declare_counts_reservations_as_decide_does_and_takes_paths(
    registry: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = registry
    base = ("--db", db)
    # a reservation of one work that starts next year is not in force today ...
    assert run(capsys, *base, "reserve", "--holder", "Example Music", "--use", "ai-train",
               "--work", "awakening", "--from", "2027-06-01")[0] == 0  # fmt: skip
    code, _, err = run(capsys, *base, "declare", "--holder", "Example Music", "--at",
                       "2026-12-01", "--out", str(tmp_path / "early"))  # fmt: skip
    assert code == 4 and "no reservation in force" in err
    # ... and one revoked from a later date is in force until then
    assert run(capsys, *base, "reserve", "--holder", "Example Music", "--use", "ai-train",
               "--work", "awakening", "--from", "2026-01-01")[0] == 0  # fmt: skip
    listed = json.loads(run(capsys, *base, "reservation", "list", "--json")[1])
    current = max(r["id"] for r in listed)
    assert run(capsys, *base, "reservation", "revoke", str(current), "--on",
               "2027-01-01")[0] == 0  # fmt: skip
    code, out, err = run(capsys, *base, "declare", "--holder", "Example Music", "--at",
                         "2026-12-01", "--out", str(tmp_path / "b"), "--json")  # fmt: skip
    assert code == 0, err
    assert "the registry knows no URLs" in err  # one work reserved, the whole site declared
    assert json.loads(out)["declaration"]["reserved_paths"] == ["/"]
    code, out, err = run(capsys, *base, "declare", "--holder", "Example Music", "--at",
                         "2026-12-01", "--path", "/music/awakening/", "--out",
                         str(tmp_path / "c"), "--json")  # fmt: skip
    assert code == 0, err and "knows no URLs" not in err
    robots = (tmp_path / "c" / "robots.txt").read_text()
    assert "Disallow: /music/awakening/" in robots and "Disallow: /\n" not in robots
    code, _, err = run(capsys, *base, "declare", "--holder", "Example Music", "--at",
                       "2027-02-01", "--out", str(tmp_path / "d"))  # fmt: skip
    assert code == 4, err  # revoked by then
