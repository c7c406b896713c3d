"""``tdmguard check`` against the demo web site served on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tdmguard.cli.app import main
from tdmguard.cli.check_cmd import serve_demo_site

DEMO_WEB = Path(__file__).resolve().parents[2] / "src/tdmguard/demo/data/web"


@pytest.fixture(scope="module")
def demo_base() -> Iterator[str]:
    base, stop = serve_demo_site(DEMO_WEB)
    try:
        yield base
    finally:
        stop()


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    return int(exit_info.value.code or 0), capsys.readouterr().out


def test_json_lines(demo_base: str, capsys: pytest.CaptureFixture[str]) -> None:
    urls = [demo_base + "/", demo_base + "/press/kit.txt", demo_base + "/private/x"]
    code, out = _run(["check", *urls, "--json"], capsys)
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["url"] for line in lines] == urls
    home, press, private = (line["stances"] for line in lines)
    assert set(home.values()) == {"deny"}  # tdmrep.json 1, meta noai, RSL
    assert (press["tdm"], press["ai-train"]) == ("allow", "deny")  # tdmrep 0, content-signal no
    assert lines[1]["disagreements"]
    assert set(private.values()) == {"deny"}  # Disallow: /private/ for every crawler
    sources = {e["source"] for e in lines[0]["evidence"]}
    assert {"robots.txt", "tdmrep:html-meta", "html:meta-robots", "rsl"} <= sources


def test_token_only_agent_keeps_search(demo_base: str, capsys: pytest.CaptureFixture[str]) -> None:
    _, out = _run(
        ["check", demo_base + "/press/kit.txt", "--agent", "Google-Extended", "--json"], capsys
    )
    stances = json.loads(out)["stances"]
    assert (stances["ai-train"], stances["search"]) == ("deny", "allow")


def test_table_file_and_use(
    demo_base: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url_file = tmp_path / "urls.txt"
    url_file.write_text(f"# demo\n{demo_base}/music/track01.html\n\n{demo_base}/press/kit.txt\n")
    code, out = _run(
        ["check", "--file", str(url_file), "--use", "ai-train", "--agent", "GPTBot"], capsys
    )
    assert code == 0
    assert "2 of 2 URLs deny ai-train" in out


def test_no_urls_is_an_input_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = _run(["check"], capsys)
    assert code == 3


def test_unreadable_url_file_is_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = _run(["check", "--file", str(tmp_path / "missing.txt")], capsys)
    assert code == 3
