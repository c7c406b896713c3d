"""``identify``, ``work show`` and ``decide --iscc`` with ISCC codes: computed at
registration, shown, looked up exactly and by a near Content-Code with its distance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("iscc_core")
pytest.importorskip("pdqhash")
iscc_samples = pytest.importorskip("iscc_samples")

from tdmguard.fingerprint.iscc_code import compute_iscc  # noqa: E402
from tests.conftest import ok_cli as ok  # noqa: E402
from tests.conftest import run_cli as run  # noqa: E402

SAMPLES = Path(iscc_samples.__file__).parent / "files"






def test_iscc_registered_shown_decided_and_identified(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    db = str(tmp_path / "r.db")
    ok(capsys, "--db", db, "registry", "init")
    ok(capsys, "--db", db, "holder", "add", "Aurora")
    ok(capsys, "--db", db, "work", "add", "--holder", "Aurora", "--title", "Concentrated Cat",
       "--artist", "A. Painter", "--id", "cat",
       "--image", str(SAMPLES / "image/demo.jpg"))  # fmt: skip
    ok(capsys, "--db", db, "reserve", "--holder", "Aurora", "--use", "ai-train",
       "--from", "2026-01-01")  # fmt: skip
    shown = json.loads(ok(capsys, "--db", db, "work", "show", "cat", "--json"))
    want = compute_iscc(SAMPLES / "image/demo.jpg", title="Concentrated Cat",
                        artists=["A. Painter"])  # fmt: skip
    assert shown["iscc"] == want.iscc

    copy = tmp_path / "cat-small.png"
    with Image.open(SAMPLES / "image/demo.jpg") as img:
        img.convert("RGB").resize((img.width // 2, img.height // 2)).save(copy)
    near_iscc = compute_iscc(copy).iscc
    out = json.loads(ok(capsys, "--db", db, "decide", "--iscc", near_iscc, "--use", "ai-train",
                        "--purpose", "commercial", "--actor", "Lab", "--json"))  # fmt: skip
    assert out["work"] == "cat" and out["decision"] == "exclude"
    assert out["iscc_match"]["exact"] is False and out["iscc_match"]["content_distance"] <= 4
    out = json.loads(ok(capsys, "--db", db, "decide", "--iscc", want.iscc, "--use", "ai-train",
                        "--purpose", "commercial", "--actor", "Lab", "--json"))  # fmt: skip
    assert out["iscc_match"]["exact"] is True

    line = ok(capsys, "--db", db, "identify", str(copy), "--use", "ai-train", "--actor", "Lab",
              "--json")  # fmt: skip
    got = json.loads(line)
    assert got["iscc"] == near_iscc
    (match,) = got["iscc_matches"]
    assert match["work"] == "cat" and match["content_distance"] <= 4
    assert match["decision"]["decision"] == "exclude"
    assert any(m["work_id"] == "cat" for m in got["matches"])  # the PDQ match beside it

    text = ok(capsys, "--db", db, "identify", str(copy))
    assert "iscc" in text and "bits" in text

    unrelated = SAMPLES / "text/demo.txt"
    decide = ("--use", "ai-train", "--purpose", "commercial", "--actor", "Lab")
    code, _, err = run(capsys, "--db", db, "decide", "--iscc", compute_iscc(unrelated).iscc,
                       *decide)  # fmt: skip
    assert code == 4 and "ISCC" in err
    code, _, err = run(capsys, "--db", db, "decide", "--iscc", "ISCC:nonsense!", *decide)
    assert code == 3
