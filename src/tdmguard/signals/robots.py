"""robots.txt (RFC 9309) with the records that ride inside it: AIPREF ``Content-Usage``,
Cloudflare ``Content-Signal`` and RSL ``License``.

Group selection and path matching follow RFC 9309 as Google's reference parser reads it
(the target is Google's robots.txt specification test, 400/400). We start from protego's
tolerant reading (directive typos, a missing colon) and correct it where it deviates from the
RFC; each deviation is listed in ``docs/signals.md`` and pinned by
``tests/conformance/test_robotstxt_spec.py``:

1. A group line's value is reduced to its product token, the leading ``[A-Za-z_-]``
   characters (RFC 9309 section 2.2.1), and compared with the asking token for equality,
   case-insensitively; protego matches substrings and keeps only the longest one.
2. Every group naming the token is merged (section 2.2.1); a specific group that matches
   replaces ``*`` even when it has no rules for the path.
3. A UTF-8 byte-order mark, or a truncated one, is skipped at the start of the file.
4. Percent-encoding: octets outside US-ASCII in a pattern are percent-encoded and existing
   escapes upper-cased (section 2.2.2); escapes are not decoded, and the URL path is used as
   the caller encoded it (see :func:`url_path`).
5. ``/robots.txt`` itself is matched like any other path; the caller decides (the fetcher
   never asks).

Extension records (section 2.2.4: "parsers MUST use the rules they can parse") keep their
line number and group, so the signal readers can apply the group selection above to them.
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass, field

from tdmguard.crawlers import product_token

__all__ = [
    "MAX_ROBOTS_BYTES",
    "ExtensionRecord",
    "PathRule",
    "RobotsGroup",
    "RobotsMatch",
    "RobotsTxt",
    "RuleKind",
    "SelectedRules",
    "decide_path",
    "encode_path",
    "escape_pattern",
    "parse_robots",
    "pattern_matches",
    "product_token",
    "url_path",
]

# RFC 9309 section 2.5: crawlers MUST parse at least 500 KiB. We parse exactly that much.
MAX_ROBOTS_BYTES = 500 * 1024
# Google's parser caps a line at 2083 * 8 octets (the longest URL IE accepted, times eight).
_MAX_LINE = 2083 * 8
_BOM = b"\xef\xbb\xbf"

# Records we know. Keys are matched as prefixes, case-insensitively, as Google does;
# the typo spellings are protego's and Google's "frequent typos".
_USER_AGENT_KEYS = ("user-agent", "useragent", "user agent")
_DISALLOW_KEYS = ("disallow", "dissallow", "dissalow", "disalow", "diasllow", "disallaw")
_ALLOW_KEYS = ("allow",)
_SITEMAP_KEYS = ("sitemap", "site-map")
# Extension records we read; a Content-Usage record is a rule (AIPREF attach section 3),
# so it closes the user-agent lines of its group like Allow/Disallow do.
_EXTENSION_KEYS = ("content-usage", "content-signal", "license")
_SEPARATING_EXTENSIONS = frozenset({"content-usage"})


class RuleKind(enum.StrEnum):
    ALLOW = "allow"
    DISALLOW = "disallow"


@dataclass(frozen=True, slots=True)
class PathRule:
    """An Allow or Disallow rule. ``pattern`` is the escaped pattern that is matched;
    ``line`` is 1-based."""

    kind: RuleKind
    pattern: str
    line: int

    @property
    def text(self) -> str:
        return f"{self.kind.value.capitalize()}: {self.pattern}"


@dataclass(frozen=True, slots=True)
class ExtensionRecord:
    """A record protego ignores: ``field`` lower-cased (``content-usage``,
    ``content-signal``, ``license``), the value as written (comment removed), its line."""

    field: str
    value: str
    line: int

    @property
    def text(self) -> str:
        return f"{self.field}: {self.value}"


@dataclass(frozen=True, slots=True)
class RobotsGroup:
    """One group: its product tokens (lower-cased; ``*`` for the global group), rules and
    extension records in file order."""

    agents: tuple[str, ...]
    rules: tuple[PathRule, ...]
    extensions: tuple[ExtensionRecord, ...]
    line: int


@dataclass(frozen=True, slots=True)
class SelectedRules:
    """The rules that apply to one product token: the merge of every group naming it, or
    the ``*`` groups, or nothing (``groups`` empty)."""

    token: str
    groups: tuple[RobotsGroup, ...]
    specific: bool  # True when a group names the token (so ``*`` is not consulted)
    rules: tuple[PathRule, ...]

    def extensions(self, field_name: str) -> tuple[ExtensionRecord, ...]:
        return tuple(e for g in self.groups for e in g.extensions if e.field == field_name)


@dataclass(frozen=True, slots=True)
class RobotsMatch:
    """The outcome for one path: ``allowed`` and the rule that decided (None when no rule
    matched, which means allowed)."""

    allowed: bool
    rule: PathRule | None


@dataclass(frozen=True, slots=True)
class RobotsTxt:
    """A parsed robots.txt. Never raised from: malformed lines end up in ``problems``."""

    groups: tuple[RobotsGroup, ...]
    global_extensions: tuple[ExtensionRecord, ...]  # records before any user-agent line
    sitemaps: tuple[str, ...]
    problems: tuple[str, ...]
    digest: str  # SHA-256 of the bytes read (hex)
    size_bytes: int
    _selection_cache: dict[str, SelectedRules] = field(
        default_factory=dict, compare=False, repr=False
    )

    def select(self, token: str) -> SelectedRules:
        """RFC 9309 section 2.2.1: the groups that name ``token`` (case-insensitive),
        merged; else the ``*`` groups, merged; else none."""
        key = token.strip().lower()
        cached = self._selection_cache.get(key)
        if cached is not None:
            return cached
        specific = tuple(g for g in self.groups if key and key in g.agents)
        if specific:
            chosen, is_specific = specific, True
        else:
            chosen, is_specific = tuple(g for g in self.groups if "*" in g.agents), False
        rules = tuple(r for g in chosen for r in g.rules)
        selected = SelectedRules(key, chosen, is_specific, rules)
        self._selection_cache[key] = selected
        return selected

    def match(self, path: str, token: str) -> RobotsMatch:
        """Whether ``token`` may crawl ``path`` (an encoded path, see :func:`url_path`)."""
        return decide_path(path, self.select(token).rules)

    def allows(self, url: str, token: str) -> bool:
        return self.match(url_path(url), token).allowed

    @property
    def tokens(self) -> frozenset[str]:
        return frozenset(a for g in self.groups for a in g.agents)


def decide_path(path: str, rules: tuple[PathRule, ...]) -> RobotsMatch:
    """RFC 9309 section 2.2.2: the longest matching pattern (in octets) wins; on a tie
    between Allow and Disallow, Allow wins. An empty pattern matches nothing."""
    best: PathRule | None = None
    best_len = 0
    for rule in rules:
        n = len(rule.pattern)
        if n < best_len or (n == best_len and (best is None or best.kind is RuleKind.ALLOW)):
            continue
        if pattern_matches(rule.pattern, path):
            best, best_len = rule, n
    if best is None:
        return RobotsMatch(True, None)
    return RobotsMatch(best.kind is RuleKind.ALLOW, best)


def pattern_matches(pattern: str, path: str) -> bool:
    """RFC 9309 section 2.2.3: ``*`` matches any run of characters, a final ``$`` the end
    of the path; matching starts at the first character of the path.

    Greedy left-to-right search over the literal pieces is exact for patterns made of
    literals and ``*`` only, and takes linear time, so hostile patterns cannot blow up.
    """
    if not pattern:
        return False
    anchored = pattern.endswith("$")
    if anchored:
        pattern = pattern[:-1]
    if "*" not in pattern:
        return path == pattern if anchored else path.startswith(pattern)
    parts = pattern.split("*")
    first, middle, last = parts[0], parts[1:-1], parts[-1]
    if not path.startswith(first):
        return False
    pos = len(first)
    for piece in middle:
        if not piece:
            continue
        idx = path.find(piece, pos)
        if idx < 0:
            return False
        pos = idx + len(piece)
    if anchored:
        return len(path) - len(last) >= pos and path.endswith(last)
    return not last or path.find(last, pos) >= 0  # "...*" matches anything left


_HEX = frozenset("0123456789abcdefABCDEF")


def escape_pattern(value: str) -> str:
    """RFC 9309 section 2.2.2: percent-encode octets outside US-ASCII (UTF-8, or the raw
    bytes when the file was not valid UTF-8) and upper-case existing escapes."""
    if value.isascii() and "%" not in value:
        return value
    raw = value.encode("utf-8", "surrogateescape")
    out: list[str] = []
    i = 0
    while i < len(raw):
        b = raw[i]
        if b == 0x25 and i + 2 < len(raw) and chr(raw[i + 1]) in _HEX and chr(raw[i + 2]) in _HEX:
            out.append("%" + raw[i + 1 : i + 3].decode("ascii").upper())
            i += 3
            continue
        out.append(f"%{b:02X}" if b >= 0x80 else chr(b))
        i += 1
    return "".join(out)


def encode_path(path: str) -> str:
    """Percent-encode a path the way a client sends it (non-ASCII as UTF-8 escapes,
    existing escapes kept), so it compares with escaped patterns."""
    return escape_pattern(path)


def url_path(url: str) -> str:
    """The path, parameters and query of ``url`` (no fragment), as RFC 9309 matches them;
    ``/`` when empty. The URL is used as given: encode it first (:func:`encode_path`)."""
    start = 2 if url.startswith("//") else 0
    early = _find_any(url, "/?;", start)
    proto = url.find("://", start)
    proto_end = start if proto < 0 or (early >= 0 and early < proto) else proto + 3
    path_start = _find_any(url, "/?;", proto_end)
    if path_start < 0:
        return "/"
    hash_pos = url.find("#", start)
    if 0 <= hash_pos < path_start:
        return "/"
    path = url[path_start : hash_pos if hash_pos >= 0 else len(url)]
    return path if path.startswith("/") else "/" + path


def _find_any(s: str, chars: str, start: int) -> int:
    hits = [i for i in (s.find(c, start) for c in chars) if i >= 0]
    return min(hits) if hits else -1


def _key_kind(key: str) -> str | None:
    k = key.lower()
    for kind, keys in (
        ("user-agent", _USER_AGENT_KEYS),
        ("disallow", _DISALLOW_KEYS),
        ("allow", _ALLOW_KEYS),
        ("sitemap", _SITEMAP_KEYS),
    ):
        if k.startswith(keys):
            return kind
    for ext in _EXTENSION_KEYS:
        if k == ext:
            return ext
    return None


def _split_line(line: str) -> tuple[str, str] | None:
    """``key: value``; without a colon, ``key value`` when there are exactly two words
    (Google's and protego's tolerance for a forgotten colon)."""
    key, sep, value = line.partition(":")
    if sep:
        key = key.strip()
        return (key, value.strip()) if key else None
    words = line.split()
    if len(words) == 2:
        return words[0], words[1]
    return None


class _GroupBuilder:
    __slots__ = ("agents", "extensions", "line", "rules")

    def __init__(self, line: int) -> None:
        self.agents: list[str] = []
        self.rules: list[PathRule] = []
        self.extensions: list[ExtensionRecord] = []
        self.line = line

    def build(self) -> RobotsGroup:
        return RobotsGroup(tuple(self.agents), tuple(self.rules), tuple(self.extensions), self.line)


def parse_robots(
    data: str | bytes, *, max_bytes: int = MAX_ROBOTS_BYTES, name: str = "robots.txt"
) -> RobotsTxt:
    """Parse a robots.txt body. Never raises; bodies over ``max_bytes`` (500 KiB, RFC 9309
    section 2.5) are cut (a problem is recorded), lines over Google's 16,664-octet limit are
    cut too. ``max_bytes`` / ``name``: for files in the same grammar (ai.txt)."""
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else bytes(data)
    digest = hashlib.sha256(raw).hexdigest()
    size = len(raw)
    problems: list[str] = []
    if size > max_bytes:
        shown = f"{max_bytes // 1024} KiB" if max_bytes % 1024 == 0 else f"{max_bytes} bytes"
        problems.append(f"{name} is {size} bytes; only the first {shown} were parsed")
        raw = raw[:max_bytes]
    # A byte-order mark, whole or truncated, is skipped (Google's parser does the same).
    for n in (3, 2, 1):
        if raw[:n] == _BOM[:n]:
            raw = raw[n:]
            break
    text = raw.decode("utf-8", "surrogateescape")

    groups: list[RobotsGroup] = []
    global_ext: list[ExtensionRecord] = []
    sitemaps: list[str] = []
    current: _GroupBuilder | None = None
    seen_rule = False  # a rule after the user-agent lines: the next user-agent starts a group
    for lineno, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        if len(line) > _MAX_LINE:
            problems.append(f"line {lineno}: longer than {_MAX_LINE} characters, cut")
            line = line[:_MAX_LINE]
        line = line.partition("#")[0].strip()
        if not line:
            continue
        kv = _split_line(line)
        if kv is None:
            problems.append(f"line {lineno}: not a record: {line[:80]!r}")
            continue
        key, value = kv
        kind = _key_kind(key)
        if kind is None:
            continue  # unknown records are ignored (RFC 9309 section 2.2.4)
        if kind == "user-agent":
            if current is None or seen_rule:
                if current is not None:
                    groups.append(current.build())
                current = _GroupBuilder(lineno)
                seen_rule = False
            agent = _group_agent(value)
            if agent:
                current.agents.append(agent)
            else:
                problems.append(f"line {lineno}: user-agent {value[:80]!r} has no product token")
            continue
        if kind == "sitemap":
            sitemaps.append(value)
            continue
        if kind in _EXTENSION_KEYS:
            record = ExtensionRecord(kind, value, lineno)
            if current is None:
                global_ext.append(record)
            else:
                current.extensions.append(record)
                seen_rule = seen_rule or kind in _SEPARATING_EXTENSIONS
            continue
        # allow / disallow
        if current is None:
            problems.append(f"line {lineno}: {key} before any user-agent line, ignored")
            continue
        seen_rule = True
        if value:
            current.rules.append(PathRule(RuleKind(kind), escape_pattern(value), lineno))
            if kind == "allow":
                _add_index_html_rule(current, value, lineno)
    if current is not None:
        groups.append(current.build())
    return RobotsTxt(
        groups=tuple(groups),
        global_extensions=tuple(global_ext),
        sitemaps=tuple(sitemaps),
        problems=tuple(problems[:200]),
        digest=digest,
        size_bytes=size,
    )


def _group_agent(value: str) -> str:
    """``*`` for the global group (a ``*`` alone or followed by whitespace), else the
    lower-cased product token."""
    if value.startswith("*") and (len(value) == 1 or value[1].isspace()):
        return "*"
    return product_token(value).lower()


def _add_index_html_rule(group: _GroupBuilder, value: str, lineno: int) -> None:
    """Google reads ``Allow: /dir/index.htm(l)`` as also allowing ``/dir/`` (the spec test
    checks it); protego does the same."""
    slash = value.rfind("/")
    if slash >= 0 and value[slash:].startswith("/index.htm"):
        group.rules.append(
            PathRule(RuleKind.ALLOW, escape_pattern(value[: slash + 1]) + "$", lineno)
        )
