"""Reader for the text-format protobuf files of Google's robots.txt specification test
(``../shared/data/robotstxt-spec-test/CTC``; schema in ``specification.proto``).

Only the subset those files use: messages ``{...}``, repeated fields ``[...]``, enum
identifiers, and C-escaped string literals concatenated across lines (bytes fields).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SpecCase", "load_cases"]

_TOKEN = re.compile(
    rb'\s*(?:(#[^\n]*)|("(?:[^"\\\n]|\\.)*")|([A-Za-z_][A-Za-z0-9_]*)|([:\[\]{},]))'
)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b'"': b'"', b"'": b"'", b"\\": b"\\"}


def _unescape(literal: bytes) -> bytes:
    body = literal[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i : i + 1]
        if c != b"\\":
            out += c
            i += 1
            continue
        nxt = body[i + 1 : i + 2]
        if nxt == b"x":
            m = re.match(rb"[0-9A-Fa-f]{1,2}", body[i + 2 :])
            assert m, literal
            out.append(int(m.group(), 16))
            i += 2 + len(m.group())
        elif nxt.isdigit():
            m = re.match(rb"[0-7]{1,3}", body[i + 1 :])
            assert m, literal
            out.append(int(m.group(), 8))
            i += 1 + len(m.group())
        else:
            out += _ESCAPES[nxt]
            i += 2
    return bytes(out)


def _tokens(data: bytes) -> list[bytes]:
    out: list[bytes] = []
    pos = 0
    while pos < len(data):
        if data[pos:].strip() == b"":
            break
        m = _TOKEN.match(data, pos)
        assert m, data[pos : pos + 40]
        pos = m.end()
        if m.group(1):
            continue
        out.append(m.group(m.lastindex or 0))
    return out


def _value(toks: list[bytes], i: int) -> tuple[object, int]:
    tok = toks[i]
    if tok == b"{":
        msg: dict[str, list[object]] = {}
        i += 1
        while toks[i] != b"}":
            name = toks[i].decode()
            i += 1
            if toks[i] == b":":
                i += 1
            val, i = _value(toks, i)
            msg.setdefault(name, []).extend(val if isinstance(val, list) else [val])
            if toks[i] == b",":
                i += 1
        return msg, i + 1
    if tok == b"[":
        items: list[object] = []
        i += 1
        while toks[i] != b"]":
            val, i = _value(toks, i)
            items.append(val)
            if toks[i] == b",":
                i += 1
        return items, i + 1
    if tok.startswith(b'"'):
        parts = []
        while i < len(toks) and toks[i].startswith(b'"'):
            parts.append(_unescape(toks[i]))
            i += 1
        return b"".join(parts), i
    return tok.decode(), i + 1


@dataclass(frozen=True)
class SpecCase:
    file: str
    robotstxt: bytes
    url: str
    agent: str
    allowed: bool
    google_specific: bool
    explanation: str

    @property
    def id(self) -> str:
        return f"{self.file}:{self.agent}:{self.url}"


def load_cases(root: Path) -> list[SpecCase]:
    cases: list[SpecCase] = []
    for path in sorted(root.rglob("*.textproto")):
        toks = _tokens(b"{" + path.read_bytes() + b"}")
        top, _ = _value(toks, 0)
        assert isinstance(top, dict)
        for test in top.get("tests", []):
            assert isinstance(test, dict)
            body = test.get("robotstxt", [b""])[0]
            for exp in test.get("test_expectations", []):
                assert isinstance(exp, dict)
                cases.append(
                    SpecCase(
                        file=f"{path.parent.name}/{path.name}",
                        robotstxt=body,  # type: ignore[arg-type]
                        url=exp["testurl"][0].decode(),  # type: ignore[union-attr]
                        agent=exp.get("useragent", [b""])[0].decode(),  # type: ignore[union-attr]
                        allowed=exp["expected_outcome"][0] == "ALLOWED",
                        google_specific=exp.get("test_type", ["STANDARD"])[0] == "GOOGLE_SPECIFIC",
                        explanation=b"".join(exp.get("additional_explanation", [b""])).decode(  # type: ignore[arg-type]
                            "utf-8", "replace"
                        ),
                    )
                )
    return cases
