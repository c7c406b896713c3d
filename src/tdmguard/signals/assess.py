"""From fetched resources to verdicts: each channel's own precedence, then the cross-channel
merge (``vocab.merge_verdicts``: any applicable deny wins), reading DESIGN.md's rules:

1. no signal is ``unknown``, never ``allow``;
2. a robots.txt Disallow for the collecting crawler (or the complete disallow after a 5xx)
   denies every use for it; a token-only agent's Disallow (Google-Extended,
   Applebot-Extended) denies the uses its token governs and leaves search alone;
3. a deny on a narrower use never turns a broader use into ``allow``;
4. every disagreement between channels is reported.

Pure: no network. ``signals/fetch.py`` gets the resources, ``signals/check.py`` drives both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol
from urllib.parse import urljoin

from tdmguard.crawlers import TOKEN_ONLY_CRAWLERS, load_ai_agents, product_token
from tdmguard.signals.ai_txt import AiTxt, parse_ai_txt
from tdmguard.signals.aipref import UsagePreferences, parse_content_usage, split_robots_rule
from tdmguard.signals.content_signal import parse_content_signal
from tdmguard.signals.headers import header_values
from tdmguard.signals.html_meta import HtmlSignals, parse_html_signals
from tdmguard.signals.resource import PARSER_VERSION, Resource, RetrievalOutcome
from tdmguard.signals.robots import (
    ExtensionRecord,
    RobotsTxt,
    RuleKind,
    encode_path,
    escape_pattern,
    parse_robots,
    pattern_matches,
    url_path,
)
from tdmguard.signals.robots_meta import RobotsDirectives, parse_meta_robots, parse_x_robots_tag
from tdmguard.signals.rsl import (
    RslDocument,
    evaluate_rsl,
    licence_urls_from_html,
    licence_urls_from_link_headers,
    licence_urls_from_robots,
    parse_rsl,
)
from tdmguard.signals.tdmrep import (
    TdmLayer,
    TdmRepFile,
    layer_from_headers,
    layer_from_html,
    layer_from_rule,
    parse_tdmrep_json,
    resolve_layers,
)
from tdmguard.vocab import (
    Evidence,
    Stance,
    Use,
    Verdict,
    covered_uses,
    merge_verdicts,
    uses_for_label,
)

__all__ = [
    "MAX_LICENCES_PER_URL",
    "AssessOptions",
    "PageSignals",
    "SiteSignals",
    "UrlAssessment",
    "assess_url",
    "licence_urls",
    "normalise_agent",
]


@dataclass(frozen=True, slots=True)
class AssessOptions:
    """``agent``: the product token of the crawler that collects (``*`` for any crawler not
    named); ``geo`` / ``user``: the trainer's ISO country (or ``EU``) and user class, for
    RSL conditions (None: unknown, so conditional permits do not apply)."""

    agent: str = "*"
    geo: str | None = None
    user: str | None = None


def normalise_agent(agent: str) -> tuple[str, str | None]:
    """The RFC 9309 product token of ``agent`` (lower-cased) and a problem when it changed
    (``AI2Bot`` -> ``ai``: digits are not token characters, section 2.2.1)."""

    raw = agent.strip()
    if raw in ("", "*"):
        return "*", None
    token = product_token(raw).lower()
    if not token:
        return "*", f"agent {raw!r} has no RFC 9309 product token; read as '*'"
    if token != raw.lower():
        return token, f"agent {raw!r} reads as product token {token!r} (RFC 9309 section 2.2.1)"
    return token, None


@dataclass(frozen=True, slots=True)
class SiteSignals:
    """An origin's well-known files, fetched and parsed once and shared by all its URLs."""

    origin: str
    robots_resource: Resource | None
    robots: RobotsTxt | None  # None unless the file was retrieved and looks like robots.txt
    tdmrep_resource: Resource | None
    tdmrep: TdmRepFile | None
    ai_txt_resource: Resource | None
    ai_txt: AiTxt | None
    problems: tuple[str, ...]

    @classmethod
    def build(
        cls,
        origin: str,
        robots: Resource | None = None,
        tdmrep: Resource | None = None,
        ai_txt: Resource | None = None,
    ) -> SiteSignals:
        problems: list[str] = []
        robots_txt = None
        if robots is not None and robots.outcome is RetrievalOutcome.SUCCESS:
            if robots.looks_like_html():
                problems.append(
                    "robots.txt is an HTML page (content-type sanity): read as unavailable"
                )
            else:
                robots_txt = parse_robots(robots.body)
        tdm = None
        if tdmrep is not None and tdmrep.outcome is RetrievalOutcome.SUCCESS:
            if tdmrep.looks_like_html():
                problems.append("tdmrep.json is an HTML page, not JSON: the file layer is unset")
            else:
                tdm = parse_tdmrep_json(tdmrep.body)
                if tdmrep.truncated:
                    problems.append(
                        f"tdmrep.json was cut at {len(tdmrep.body)} bytes by the fetch limit:"
                        f" the {len(tdm.rules)} complete rules before the cut were read"
                    )
        ai = None
        if ai_txt is not None and ai_txt.outcome is RetrievalOutcome.SUCCESS:
            if ai_txt.looks_like_html():
                problems.append("ai.txt is an HTML page (single-page-app fallback): ignored")
            else:
                ai = parse_ai_txt(ai_txt.body)
                if ai_txt.truncated:
                    problems.append(
                        f"ai.txt was cut at {len(ai_txt.body)} bytes by the fetch limit:"
                        " the lines before the cut were read"
                    )
        if robots is not None and robots.truncated:
            problems.append(
                f"robots.txt was cut at {len(robots.body)} bytes (RFC 9309 section 2.5):"
                " the lines before the cut were read"
            )
        return cls(origin, robots, robots_txt, tdmrep, tdm, ai_txt, ai, tuple(problems))


@dataclass(frozen=True, slots=True)
class PageSignals:
    """The URL's own response: headers always, HTML signals when it is a page."""

    resource: Resource
    html: HtmlSignals | None

    @classmethod
    def build(cls, resource: Resource) -> PageSignals:
        html = None
        if resource.outcome is RetrievalOutcome.SUCCESS and resource.content_type in (
            "text/html",
            "application/xhtml+xml",
        ):
            html = parse_html_signals(resource.body, encoding=resource.charset)
        return cls(resource, html)


@dataclass(frozen=True, slots=True)
class UrlAssessment:
    url: str
    verdicts: tuple[Verdict, ...]
    stances: Mapping[Use, Stance]
    disagreements: tuple[str, ...]
    problems: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, object]:
        """The ``tdmguard check --json`` line."""
        evidence: list[dict[str, object]] = []
        for v in self.verdicts:
            decided = {u.value: s.value for u, s in v.stances.items() if s is not Stance.UNKNOWN}
            for e in v.evidence:
                item = e.to_json()
                item["stances"] = decided
                if v.problems:
                    item["problems"] = list(v.problems)
                evidence.append(item)
        return {
            "url": self.url,
            "stances": {u.value: self.stances.get(u, Stance.UNKNOWN).value for u in Use},
            "evidence": evidence,
            "disagreements": list(self.disagreements),
        }


# -- helpers ---------------------------------------------------------------------------


def _evidence(source: str, res: Resource | None, raw: str, locator: str = "") -> Evidence:
    return Evidence(
        source=source,
        locator=locator or (res.url if res else ""),
        raw=raw[:300],
        digest=res.digest if res else "",
        observed_at=res.fetched_at if res else "",
        status=res.status if res else None,
        parser_version=PARSER_VERSION,
    )


class _Stances:
    """Stances of one channel: deny wins over allow within the channel too."""

    def __init__(self) -> None:
        self.values: dict[Use, Stance] = {}

    def put(self, uses: Iterable[Use], stance: Stance) -> None:
        for use in covered_uses(uses):
            if self.values.get(use) is not Stance.DENY:
                self.values[use] = stance

    def update(self, stances: Mapping[Use, Stance]) -> None:
        """Merge a reading already expanded to the uses it covers (no second expansion:
        "not permitted: everything but search" must not spread to search)."""
        for use, stance in stances.items():
            if self.values.get(use) is not Stance.DENY:
                self.values[use] = stance

    def frozen(self) -> Mapping[Use, Stance]:
        return MappingProxyType(dict(self.values))


def _verdict(
    source: str, stances: _Stances, evidence: Sequence[Evidence], problems: Sequence[str]
) -> Verdict:
    return Verdict(source, stances.frozen(), tuple(evidence), tuple(dict.fromkeys(problems)))


def _crawler_token(agent: str) -> str:
    crawler = TOKEN_ONLY_CRAWLERS.get(agent)
    return crawler.lower() if crawler else agent


# -- channels ---------------------------------------------------------------------------


def _robots_verdict(path: str, agent: str, site: SiteSignals) -> Verdict | None:
    res = site.robots_resource
    if res is None:
        return None
    st = _Stances()
    ev: list[Evidence] = []
    problems: list[str] = [p for p in site.problems if p.startswith("robots.txt")]
    outcome = res.outcome
    if outcome is RetrievalOutcome.UNREACHABLE:
        # RFC 9309 section 2.3.1.4: unreachable means complete disallow.
        st.put(uses_for_label("robots", "disallow"), Stance.DENY)
        ev.append(
            _evidence(
                "robots.txt", res, f"robots.txt unreachable ({res.describe()}): complete disallow"
            )
        )
        return _verdict("robots.txt", st, ev, problems)
    if site.robots is None:
        if outcome is RetrievalOutcome.UNAVAILABLE:
            problems.append(
                f"robots.txt unavailable ({res.describe()}): no restriction (RFC 9309 2.3.1.3)"
            )
        elif outcome is RetrievalOutcome.NOT_FETCHED:
            problems.append(f"robots.txt {res.describe()}")
        return _verdict("robots.txt", st, ev, problems) if problems else None
    robots = site.robots
    problems.extend(robots.problems[:5])
    crawler = _crawler_token(agent)
    match = robots.match(path, crawler)
    if not match.allowed and match.rule is not None:
        st.put(uses_for_label("robots", "disallow"), Stance.DENY)
        ev.append(
            _evidence(
                "robots.txt", res, f"{match.rule.text} (line {match.rule.line}) for {crawler}"
            )
        )
    if crawler != agent:  # a token-only agent: its own groups govern use
        token_match = robots.match(path, agent)
        if not token_match.allowed and token_match.rule is not None:
            st.put(uses_for_label("robots-token", agent), Stance.DENY)
            ev.append(
                _evidence(
                    "robots.txt",
                    res,
                    f"{token_match.rule.text} (line {token_match.rule.line})"
                    f" for token-only {agent}",
                )
            )
    blocked = _blocked_ai_tokens(robots, path, agent)
    if blocked:
        problems.append(
            "robots.txt blocks AI training crawlers here (not the asking agent): "
            + ", ".join(sorted(blocked)[:12])
            + (" ..." if len(blocked) > 12 else "")
        )
    if not ev:  # checked and allowed: still evidence of what was observed, and when
        ev.append(_evidence("robots.txt", res, f"allowed for {crawler}"))
    return _verdict("robots.txt", st, ev, problems)


def _blocked_ai_tokens(robots: RobotsTxt, path: str, agent: str) -> list[str]:
    training = load_ai_agents().training_tokens()
    out = []
    for token in robots.tokens & training:
        if token != agent and not robots.match(path, token).allowed:
            out.append(token)
    return out


def _longest_scoped(
    records: Sequence[ExtensionRecord], path: str
) -> tuple[list[ExtensionRecord], list[str]]:
    """AIPREF attach-05 section 3: records map to resources by longest path-prefix match;
    records without a path apply to every path (length 0). Returns the records of the
    longest matching length and their preference values."""
    best_len = -1
    chosen: list[ExtensionRecord] = []
    values: list[str] = []
    for rec in records:
        rec_path, pref = split_robots_rule(rec.value)
        n = 0
        if rec_path is not None:
            pattern = escape_pattern(rec_path)
            if not pattern_matches(pattern, path):
                continue
            n = len(pattern)
        if n > best_len:
            best_len, chosen, values = n, [rec], [pref]
        elif n == best_len:
            chosen.append(rec)
            values.append(pref)
    return chosen, values


def _robots_extension_verdicts(path: str, agent: str, site: SiteSignals) -> list[Verdict]:
    robots, res = site.robots, site.robots_resource
    if robots is None or res is None:
        return []
    out: list[Verdict] = []
    crawler = _crawler_token(agent)
    selected = robots.select(crawler)
    crawlable = robots.match(path, crawler).allowed
    # AIPREF Content-Usage rules.
    records = selected.extensions("content-usage")
    if records:
        st = _Stances()
        problems: list[str] = []
        ev: list[Evidence] = []
        if not crawlable:
            problems.append(
                "Content-Usage: path not crawlable, no preferences implied (attach-05 3)"
            )
        else:
            chosen, values = _longest_scoped(records, path)
            prefs: list[UsagePreferences] = []
            for rec, value in zip(chosen, values, strict=True):
                pref = parse_content_usage(value)
                prefs.append(pref)
                problems.extend(f"line {rec.line}: {p}" for p in pref.problems)
                ev.append(
                    _evidence("robots.txt:content-usage", res, f"{rec.text} (line {rec.line})")
                )
            for pref in prefs:
                st.update(pref.stances())
        out.append(_verdict("robots.txt:content-usage", st, ev, problems))
    # Content Signals.
    signals = selected.extensions("content-signal")
    ungrouped = [e for e in robots.global_extensions if e.field == "content-signal"]
    if signals or ungrouped:
        st = _Stances()
        problems = [f"line {e.line}: Content-Signal outside any group, ignored" for e in ungrouped]
        ev = []
        if signals and crawlable:
            chosen, values = _longest_scoped(signals, path)
            for rec, value in zip(chosen, values, strict=True):
                cs = parse_content_signal(value)
                st.update(cs.stances())
                problems.extend(f"line {rec.line}: {p}" for p in cs.problems)
                if cs.use_level:
                    problems.append(f"line {rec.line}: use level {cs.use_level}")
                ev.append(
                    _evidence("robots.txt:content-signal", res, f"{rec.text} (line {rec.line})")
                )
        out.append(_verdict("robots.txt:content-signal", st, ev, problems))
    return out


class _ParsedPreference(Protocol):
    @property
    def problems(self) -> Sequence[str]: ...

    def stances(self) -> Mapping[Use, Stance]: ...


def _header_channel(
    source: str,
    name: str,
    values: Sequence[str],
    res: Resource,
    parse: Callable[[str], _ParsedPreference],
) -> Verdict:
    """One verdict from every value of a header (or meta) channel: any deny wins."""
    st = _Stances()
    problems: list[str] = []
    for value in values:
        pref = parse(value)
        st.update(pref.stances())
        problems.extend(pref.problems)
    raw = "; ".join(f"{name}: {v}" for v in values)
    return _verdict(source, st, [_evidence(source, res, raw)], problems)


def _header_verdicts(page: PageSignals, agent: str) -> list[Verdict]:
    res = page.resource
    out: list[Verdict] = []
    usage = header_values(res.headers, "content-usage")
    if usage:
        out.append(
            _header_channel("http:content-usage", "Content-Usage", usage, res, parse_content_usage)
        )
    signal_values = header_values(res.headers, "content-signal")
    if page.html is not None:
        signal_values += [m.content for m in page.html.meta("content-signal")]
    if signal_values:
        out.append(
            _header_channel(
                "http:content-signal", "Content-Signal", signal_values, res, parse_content_signal
            )
        )
    # noai / noimageai
    xrt = header_values(res.headers, "x-robots-tag")
    is_image = res.content_type.startswith("image/")
    if xrt:
        out.extend(_noai_verdict("x-robots-tag", parse_x_robots_tag(xrt), agent, res, is_image))
    if page.html is not None:
        metas = [
            (m.name, m.content) for m in page.html.metas if m.name == "robots" or m.name == agent
        ]
        if metas:
            # meta noimageai covers the images a page references, not its text (section 6.4).
            out.extend(
                _noai_verdict("html:meta-robots", parse_meta_robots(metas), agent, res, False)
            )
    return out


def _noai_verdict(
    source: str, directives: RobotsDirectives, agent: str, res: Resource, is_image: bool
) -> list[Verdict]:
    found = directives.for_agent(agent)
    st = _Stances()
    problems: list[str] = []
    ev: list[Evidence] = []

    def raw_of(name: str) -> str:
        return directives.sources.get(name) or directives.sources.get(f"{agent}:{name}", name)

    if "noai" in found:
        st.put(uses_for_label("robots-meta", "noai"), Stance.DENY)
        ev.append(_evidence(source, res, raw_of("noai")))
    if "noimageai" in found:
        if is_image:
            st.put(uses_for_label("robots-meta", "noimageai"), Stance.DENY)
            ev.append(_evidence(source, res, raw_of("noimageai")))
        else:
            problems.append("noimageai: the images on or at this resource are reserved from AI")
    if "noarchive" in found:
        problems.append("noarchive: Bing and Amazon read it as no AI training or chat use")
    if not ev and not problems:
        return []
    if not ev:
        ev.append(_evidence(source, res, ", ".join(sorted(found))[:200]))
    return [_verdict(source, st, ev, problems)]


def _tdmrep_verdict(path: str, site: SiteSignals, page: PageSignals | None) -> Verdict | None:
    layers: list[tuple[TdmLayer, Resource | None]] = []
    problems: list[str] = [p for p in site.problems if p.startswith("tdmrep.json")]
    if site.tdmrep is not None:
        problems.extend(site.tdmrep.problems[:5])
        layers.append((layer_from_rule(site.tdmrep.lookup(path)), site.tdmrep_resource))
    if page is not None:
        layers.append((layer_from_headers(page.resource.headers), page.resource))
        if page.html is not None:
            layers.append((layer_from_html(page.html), page.resource))
    if not any(
        layer.reservation is not None or layer.policy or layer.problems for layer, _ in layers
    ):
        if not problems:
            return None
        res = site.tdmrep_resource
        return _verdict(
            "tdmrep", _Stances(), [_evidence("tdmrep.json", res, problems[0])], problems
        )
    result = resolve_layers([layer for layer, _ in layers])
    for layer, _ in layers:
        problems.extend(layer.problems)
    problems.extend(result.overrides)
    st = _Stances()
    ev: list[Evidence] = []
    if result.decided_by is not None:
        res = next(r for layer, r in layers if layer is result.decided_by)
        uses = uses_for_label("tdmrep", "1")
        st.put(uses, Stance.DENY if result.reservation == 1 else Stance.ALLOW)
        raw = result.decided_by.raw
        if result.policy:
            raw += f" (tdm-policy {result.policy})" if "tdm-policy" not in raw else ""
        ev.append(_evidence(f"tdmrep:{result.decided_by.name}", res, raw))
    if result.policy and result.reservation == 1:
        problems.append(f"TDM policy (licensing route): {result.policy}")
    return _verdict("tdmrep", st, ev, problems)


def _ai_txt_verdict(url: str, agent: str, site: SiteSignals) -> Verdict | None:
    res = site.ai_txt_resource
    problems = [p for p in site.problems if p.startswith("ai.txt")]
    if site.ai_txt is None or res is None:
        if not problems or res is None:
            return None
        return _verdict("ai.txt", _Stances(), [_evidence("ai.txt", res, problems[0])], problems)
    match = site.ai_txt.match(url, agent)
    if match.rule is None:
        return None
    st = _Stances()
    stance = Stance.ALLOW if match.rule.kind is RuleKind.ALLOW else Stance.DENY
    st.put(uses_for_label("ai-txt", "disallow"), stance)
    ev = [_evidence("ai.txt", res, f"{match.rule.text} (line {match.rule.line})")]
    return _verdict("ai.txt", st, ev, problems + list(site.ai_txt.problems[:3]))


# Licence documents read per URL. RSL section 5.1 makes every association point count, but
# a page naming thousands (5,000 License: lines made 5,004 requests) is an attack, not a
# licence: the first ones are read and the rest count as licences not obtained (unlicensed).
MAX_LICENCES_PER_URL = 16


def licence_urls(
    url: str, agent: str, site: SiteSignals, page: PageSignals | None, *, limit: int | None = None
) -> list[str]:
    """Every RSL licence URL associated with ``url`` (the first ``limit`` when given); all
    association points count (section 5.1), so the fetcher gets each of them."""
    urls: list[str] = []
    if site.robots is not None:
        # License values must be absolute URIs; a relative one is read against the origin.
        robots_url = site.origin + "/robots.txt"
        urls += [
            urljoin(robots_url, v)
            for v in licence_urls_from_robots(site.robots, _crawler_token(agent))[0]
        ]
    if page is not None:
        base = page.resource.final_url or url
        urls += licence_urls_from_link_headers(page.resource.headers, base)
        if page.html is not None:
            urls += licence_urls_from_html(page.html, base)
    found = list(dict.fromkeys(u for u in urls if u.startswith(("http://", "https://"))))
    return found if limit is None else found[:limit]


def _rsl_verdict(
    url: str,
    agent: str,
    site: SiteSignals,
    page: PageSignals | None,
    licences: Mapping[str, Resource],
    options: AssessOptions,
) -> Verdict | None:
    wanted = licence_urls(url, agent, site, page)
    inline = list(page.html.rsl_scripts) if page is not None and page.html is not None else []
    if not wanted and not inline:
        return None
    st = _Stances()
    ev: list[Evidence] = []
    problems: list[str] = []
    if len(wanted) > MAX_LICENCES_PER_URL:
        extra = len(wanted) - MAX_LICENCES_PER_URL
        st.put(uses_for_label("rsl", "unlicensed"), Stance.DENY)
        ev.append(
            _evidence(
                "rsl",
                None,
                f"{len(wanted)} licence URLs are named; only the first {MAX_LICENCES_PER_URL}"
                f" were read (cap per URL), the other {extra} count as not obtained: unlicensed",
                url,
            )
        )
        problems.append(f"licence cap: {extra} of {len(wanted)} licence URLs not read")
        wanted = wanted[:MAX_LICENCES_PER_URL]
    docs = [(u, licences.get(u)) for u in wanted]
    for lic_url, res in docs:
        if res is None or res.outcome is not RetrievalOutcome.SUCCESS:
            # Section 5.1: no valid RSL document means the asset is unlicensed.
            st.put(uses_for_label("rsl", "unlicensed"), Stance.DENY)
            why = res.describe() if res is not None else "not fetched"
            ev.append(_evidence("rsl", res, f"licence {lic_url} {why}: unlicensed", lic_url))
            continue
        if res.truncated:
            problems.append(
                f"licence {lic_url} was cut at {len(res.body)} bytes by the fetch limit:"
                " its complete <content> elements were read"
            )
        _read_rsl(parse_rsl(res.body), url, lic_url, res, st, ev, problems, options)
    for body in inline:
        assert page is not None
        _read_rsl(parse_rsl(body), url, url, page.resource, st, ev, problems, options, inline=True)
    return _verdict("rsl", st, ev, problems)


def _read_rsl(
    doc: RslDocument,
    url: str,
    lic_url: str,
    res: Resource,
    st: _Stances,
    ev: list[Evidence],
    problems: list[str],
    options: AssessOptions,
    *,
    inline: bool = False,
) -> None:
    where = "inline <script type=application/rsl+xml>" if inline else f"licence {lic_url}"
    if not doc.contents:
        st.put(uses_for_label("rsl", "unlicensed"), Stance.DENY)
        ev.append(
            _evidence(
                "rsl",
                res,
                f"{where}: no valid RSL document ({'; '.join(doc.problems)[:150]}): unlicensed",
                lic_url,
            )
        )
        return
    evaluation = evaluate_rsl(doc, url, geo=options.geo, user=options.user)
    problems.extend(evaluation.problems)
    if evaluation.content is None:
        problems.append(f"{where} has no <content> covering this URL")
        return
    st.update(evaluation.stances)
    decided = ", ".join(f"{u.value}={s.value}" for u, s in sorted(evaluation.stances.items()))
    ev.append(
        _evidence(
            "rsl", res, f'{where}: <content url="{evaluation.content.url}"> {decided}', lic_url
        )
    )


def assess_url(
    url: str,
    site: SiteSignals,
    page: PageSignals | None = None,
    licences: Mapping[str, Resource] | None = None,
    options: AssessOptions | None = None,
) -> UrlAssessment:
    """All channels for one URL, each with its own precedence, then merged."""
    opts = options or AssessOptions()
    agent, agent_problem = normalise_agent(opts.agent)
    path = url_path(encode_path(url))
    verdicts: list[Verdict | None] = [
        _robots_verdict(path, agent, site),
        *_robots_extension_verdicts(path, agent, site),
        _tdmrep_verdict(path, site, page),
        _ai_txt_verdict(url, agent, site),
        _rsl_verdict(url, agent, site, page, licences or {}, opts),
    ]
    problems: list[str] = [agent_problem] if agent_problem else []
    refused = [
        r
        for r in (site.robots_resource, site.tdmrep_resource, site.ai_txt_resource)
        if r is not None and r.error.startswith("refused:")
    ]
    if page is not None:
        if page.resource.error.startswith("refused:"):
            refused.append(page.resource)
        verdicts.extend(_header_verdicts(page, agent))
        if page.resource.outcome is not RetrievalOutcome.SUCCESS:
            problems.append(f"page {page.resource.describe()}: its own signals are unknown")
        if page.html is not None:
            problems.extend(page.html.problems)
    if refused:
        # The fetcher would not follow these into non-public addresses: evidence of its own.
        ev = [_evidence("fetch", r, r.error, r.url) for r in refused]
        verdicts.append(_verdict("fetch", _Stances(), ev, [r.error for r in refused]))
    present = tuple(v for v in verdicts if v is not None)
    merged = merge_verdicts(present)
    disagreements = list(merged.disagreements)
    for v in present:
        disagreements.extend(p for p in v.problems if p.startswith("TDMRep ") and "overrides" in p)
    return UrlAssessment(url, present, merged.stances, tuple(disagreements), tuple(problems))
