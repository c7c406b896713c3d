"""identify (CLI, service) applies the scan's rule to a lyric match on thin evidence: the
decision is ``review``, never ``exclude``, and the table says why (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tdmguard.cli.app import main
from tdmguard.demo import demo_data_dir

LYRICS = demo_data_dir() / "lyrics"
LYRIC = LYRICS / "jeanie_with_the_light_brown_hair.txt"
ESSAY = (LYRICS / "training" / "essay_without_lyrics.txt").read_text("utf-8")


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    return int(info.value.code or 0), capsys.readouterr().out


def test_thin_lyric_overlap_is_review_and_a_quote_is_excluded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TDMGUARD_DB", str(tmp_path / "r.db"))
    monkeypatch.delenv("TDMGUARD_INDEX", raising=False)
    assert _run(capsys, "holder", "add", "H")[0] == 0
    assert _run(capsys, "work", "add", "--holder", "H", "--title", "Jeanie", "--id", "jeanie",
                "--lyrics", str(LYRIC))[0] == 0
    assert _run(capsys, "reserve", "--holder", "H", "--use", "ai-train",
                "--from", "2020-01-01")[0] == 0
    thin = tmp_path / "thin.txt"  # words of two lyric lines scattered over unrelated text
    thin.write_text(ESSAY + "\nthe bright streams play.\n" + ESSAY[:200] +
                    "\nHappy as the daisies that\n" + ESSAY, "utf-8")
    quote = tmp_path / "quote.txt"
    quote.write_text(ESSAY + "\n" + "\n".join(LYRIC.read_text("utf-8").splitlines()[:3]) + "\n",
                     "utf-8")
    args = ("--use", "ai-train", "--actor", "Lab")
    code, out = _run(capsys, "identify", str(thin), str(quote), *args, "--json")
    assert code == 0
    got = [json.loads(line) for line in out.splitlines()]
    (weak,), (strong,) = got[0]["matches"], got[1]["matches"]
    assert weak["work_id"] == strong["work_id"] == "jeanie"
    assert weak["confidence"] == "review" and weak["decision"]["decision"] == "review"
    assert weak["decision"]["reasons"][0]["code"] == "match-needs-review"
    assert strong["confidence"] == "confident" and strong["decision"]["decision"] == "exclude"
    assert "match-needs-review" not in [r["code"] for r in strong["decision"]["reasons"]]
    code, out = _run(capsys, "identify", str(thin))
    assert code == 0 and "(review)" in out
