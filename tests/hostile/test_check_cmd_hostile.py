"""Issue #18: ``tdmguard check`` with hostile input: a string that is not a URL is a usage
error, and ``--json`` is valid UTF-8 whatever bytes a site sends."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tdmguard.cli.app import main
from tests.signals.local_sites import TEXT, Route, Site, serve

_MAIN = "import sys; from tdmguard.cli.app import main; main(sys.argv[1:])"


def _code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    return int(exit_info.value.code or 0)


@pytest.mark.parametrize("value", ["not a url", "example.com/x", "ftp://x.example/", "http://"])
def test_a_string_that_is_not_a_url_is_a_usage_error(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _code(["check", value, "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "not an http(s) URL" in captured.err


def test_a_url_file_with_a_bad_line_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text("# list\nhttps://a.example/x\nnot\x1ba url\n")
    assert _code(["check", "--file", str(urls)]) == 3
    err = capsys.readouterr().err
    assert "urls.txt:3" in err and "\x1b" not in err


def test_check_json_is_valid_utf8_with_non_utf8_site_bytes(tmp_path: Path) -> None:
    # A robots.txt rule with a byte that is not UTF-8 and an ESC: the evidence quotes it
    # (before the fix: UnicodeEncodeError on the lone surrogate, a traceback and exit 1).
    robots = b"User-agent: *\nContent-Usage: train-ai=n\xe9\xff\x1b[31m\n"
    with serve(Site({"/robots.txt": Route(200, robots, TEXT)})) as (site,):
        url = site.base + "/a"
        proc = subprocess.run(
            [sys.executable, "-c", _MAIN, "check", url, "--json", "--no-pages"],
            capture_output=True,
            timeout=120,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.decode("utf-8")  # strict: raises on invalid UTF-8
    line = json.loads(text)
    assert line["url"] == url
    assert b"\x1b" not in proc.stdout  # control characters are JSON-escaped
    raws = [e["raw"] for e in line["evidence"] if e["source"] == "robots.txt:content-usage"]
    assert raws and "\udcff" in raws[0]  # the byte is kept as its JSON escape
