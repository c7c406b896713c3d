"""Spawning ``/ai.txt`` (optout-protocols.md section 7.1): robots.txt grammar over
file-extension patterns (``Disallow: *.mp3``), meant for the media URL's host. A matching
Disallow reserves the file from AI datasets (training); an explicit Allow permits it."""

from __future__ import annotations

from dataclasses import dataclass

from tdmguard.signals.robots import RobotsMatch, RobotsTxt, parse_robots, url_path

__all__ = ["MAX_AI_TXT_BYTES", "AiTxt", "parse_ai_txt"]

# Not robots.txt: RFC 9309's 500 KiB limit does not apply; a generous cap of its own.
MAX_AI_TXT_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class AiTxt:
    rules: RobotsTxt

    @property
    def problems(self) -> tuple[str, ...]:
        return self.rules.problems

    def match(self, url: str, token: str = "*") -> RobotsMatch:
        """The deciding rule for ``url``; groups are selected as in robots.txt."""
        return self.rules.match(url_path(url), token)


def parse_ai_txt(data: str | bytes) -> AiTxt:
    """Parse an ai.txt body. Never raises."""
    return AiTxt(parse_robots(data, max_bytes=MAX_AI_TXT_BYTES, name="ai.txt"))
