"""``declaration export|import`` end to end: exported from one registry, imported into a
fresh one, every decision equal; a tampered file or a wrong pin is refused with exit 6 and
changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tdmguard.signing import generate_signing_key, save_signing_key
from tdmguard.vocab import Purpose, Use
from tests.conftest import ok_cli as ok
from tests.conftest import run_cli as run

ISCC_A = "ISCC:KEC7VSV5QH7FTV7N5YVD5UMF4TUKFFGDGCOI4UDFKE4FNPW6C3L7J2Y"
ISCC_B = "ISCC:KACV5NAQXBCHCWFWAYCJRAL5Z36G7AZALCN3HBKABNDND26WJ5IVG4I"
ISCC_C = "ISCC:KACV5NAQXBCHCWFWHOLOZGPWRBQ7M5QA6IGEVCSHWSQTIZMSLXSM47Q"






def decisions(capsys: pytest.CaptureFixture[str], db: str, work: str) -> dict[str, str]:
    got = {}
    cases = [(u, Purpose.COMMERCIAL) for u in Use] + [(Use.AI_TRAIN, Purpose.RESEARCH)]
    for use, purpose in cases:
        out = ok(capsys, "--db", db, "decide", "--work", work, "--use", use.value,
                 "--purpose", purpose.value, "--actor", "Some AI Lab", "--at", "2026-06-01",
                 "--json")  # fmt: skip
        got[f"{use.value}/{purpose.value}"] = json.loads(out)["decision"]
    return got


@pytest.fixture
def source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, Path, Path]:
    db = str(tmp_path / "a.db")
    ok(capsys, "--db", db, "registry", "init")
    ok(capsys, "--db", db, "holder", "add", "Example Music", "--contact", "ai@l.example")
    ok(capsys, "--db", db, "work", "add", "--holder", "Example Music", "--title", "Awakening",
       "--id", "awakening", "--kind", "recording", "--iscc", ISCC_A)  # fmt: skip
    ok(capsys, "--db", db, "work", "add", "--holder", "Example Music", "--title", "Lyric",
       "--id", "lyric", "--kind", "lyrics", "--iscc", ISCC_B)  # fmt: skip
    ok(capsys, "--db", db, "work", "add", "--holder", "Example Music", "--title", "No code",
       "--id", "nocode", "--kind", "lyrics")  # fmt: skip
    ok(capsys, "--db", db, "reserve", "--holder", "Example Music", "--use", "ai-train",
       "--purpose", "commercial", "--from", "2026-01-01")  # fmt: skip
    ok(capsys, "--db", db, "reserve", "--holder", "Example Music", "--use", "ai-input",
       "--work", "lyric", "--from", "2026-02-01", "--until", "2027-01-01")  # fmt: skip
    ok(capsys, "--db", db, "work", "add", "--holder", "Example Music", "--title", "Free",
       "--id", "free", "--kind", "lyrics", "--iscc", ISCC_C)  # fmt: skip
    ok(capsys, "--db", db, "reserve", "--holder", "Example Music", "--use", "ai-train",
       "--work", "free", "--exempt", "--from", "2026-01-01")  # fmt: skip
    key = tmp_path / "holder.key"
    pub = save_signing_key(generate_signing_key(), key)
    return db, key, pub


def test_round_trip_into_a_fresh_registry_decides_the_same(
    source: tuple[str, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, key, pub = source
    out_file = tmp_path / "decl.json"
    out = ok(capsys, "--db", db, "declaration", "export", "--holder", "Example Music",
             "--key", str(key), "--out", str(out_file), "--at", "2026-06-01", "--json")  # fmt: skip
    report = json.loads(out)
    assert report["declarations"] == 3 and report["works_without_iscc"] == ["nocode"]
    fresh = str(tmp_path / "b.db")
    ok(capsys, "--db", fresh, "registry", "init")
    out = ok(capsys, "--db", fresh, "declaration", "import", str(out_file),
             "--pin", str(pub), "--json")  # fmt: skip
    imported = json.loads(out)
    assert sorted(imported["works_added"]) == ["awakening", "lyric"]
    assert all(r["declared_at"].startswith("tdmai:decl.json#") for r in imported["reservations"])
    for work in ("awakening", "lyric"):
        assert decisions(capsys, fresh, work) == decisions(capsys, db, work)
    # The exempted work is not declared: nothing reserved there, in both registries.
    assert "free" not in imported["works_added"]
    assert set(decisions(capsys, db, "free").values()) == {"keep"}
    assert "exclude" in decisions(capsys, fresh, "lyric").values()
    # Importing the same file again adds nothing.
    again = json.loads(ok(capsys, "--db", fresh, "declaration", "import", str(out_file),
                          "--pin", str(pub), "--json"))  # fmt: skip
    assert again["already_present"] == 3 and again["reservations"] == []


def test_tampered_declaration_or_wrong_pin_is_refused(
    source: tuple[str, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, key, pub = source
    out_file = tmp_path / "decl.json"
    ok(capsys, "--db", db, "declaration", "export", "--holder", "Example Music",
       "--key", str(key), "--out", str(out_file))  # fmt: skip
    fresh = str(tmp_path / "b.db")
    ok(capsys, "--db", fresh, "registry", "init")
    tampered = tmp_path / "tampered.json"
    tampered.write_bytes(out_file.read_bytes().replace(b'"train-ai": "false"',
                                                       b'"train-ai": "true"'))  # fmt: skip
    code, _, err = run(capsys, "--db", fresh, "declaration", "import", str(tampered),
                       "--pin", str(pub))  # fmt: skip
    assert code == 6 and "bad signature" in " ".join(err.split())
    other = save_signing_key(generate_signing_key(), tmp_path / "other.key")
    code, _, err = run(capsys, "--db", fresh, "declaration", "import", str(out_file),
                       "--pin", str(other))  # fmt: skip
    assert code == 6 and "pinned" in " ".join(err.split())
    out = ok(capsys, "--db", fresh, "holder", "list", "--json")
    assert json.loads(out) == [] or "Example Music" not in out
