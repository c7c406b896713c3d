"""Property tests (hypothesis) on every reader and parser ``hostile`` owns: they never raise
anything but their documented error, and never run past a budget (pytest-timeout per test,
hypothesis deadlines per example). Inputs are generated, mostly small; cut documents are
prefixes of valid ones, the shape a size limit produces."""

from __future__ import annotations

import contextlib
import json
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tdmguard.declare.crawlers import crawlers_in_user_agent
from tdmguard.errors import InputError, MediaError
from tdmguard.registry.catalogue import read_catalogue
from tdmguard.server.middleware import path_readings, printable
from tdmguard.signals.ai_txt import parse_ai_txt
from tdmguard.signals.assess import SiteSignals, assess_url
from tdmguard.signals.fetch import address_class
from tdmguard.signals.resource import Resource
from tdmguard.signals.rsl import evaluate_rsl, parse_rsl
from tdmguard.signals.tdmrep import parse_tdmrep_json
from tdmguard.signals.xml_safe import parse_xml

FAST = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
FILES = settings(
    max_examples=60,
    deadline=5000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

RULES = st.lists(
    st.fixed_dictionaries(
        {
            "location": st.text(string.ascii_letters + "/*$", min_size=1, max_size=12),
            "tdm-reservation": st.sampled_from([0, 1]),
        }
    ),
    min_size=1,
    max_size=30,
)


@pytest.mark.timeout(120)
@FAST
@given(RULES, st.floats(0.0, 1.0))
def test_tdmrep_prefix_reads_a_prefix_of_the_rules(
    rules: list[dict[str, object]], at: float
) -> None:
    body = json.dumps(rules).encode()
    cut = body[: int(len(body) * at)]
    whole = parse_tdmrep_json(body).rules
    part = parse_tdmrep_json(cut).rules
    assert len(part) <= len(whole)
    assert [(r.location, r.reservation) for r in part] == [
        (r.location, r.reservation) for r in whole[: len(part)]
    ]


@pytest.mark.timeout(120)
@FAST
@given(st.binary(max_size=2048) | st.text(max_size=512))
def test_tdmrep_ai_txt_never_raise(data: bytes | str) -> None:
    parse_tdmrep_json(data)
    parse_ai_txt(data).match("https://a.example/x.mp3", "gptbot")


RSL_DOC = (
    '<rsl xmlns="https://rslstandard.org/rsl">'
    + "".join(
        f'<content url="/p{i}/"><license><prohibits type="usage">ai-train</prohibits>'
        f"</license></content>"
        for i in range(8)
    )
    + "</rsl>"
).encode()


@pytest.mark.timeout(120)
@FAST
@given(st.integers(0, len(RSL_DOC)))
def test_rsl_prefix_keeps_only_complete_contents(n: int) -> None:
    doc = parse_rsl(RSL_DOC[:n])
    for content in doc.contents:
        # a content element that was read is whole: its licence says what the full one says
        evaluation = evaluate_rsl(doc, "https://a.example" + content.url + "x")
        assert evaluation.content is not None
        assert evaluation.stances, content


@pytest.mark.timeout(120)
@FAST
@given(st.binary(max_size=2048), st.booleans())
def test_xml_never_raises(data: bytes, partial: bool) -> None:
    root, problem = parse_xml(data, partial=partial)
    assert root is not None or problem


@pytest.mark.timeout(120)
@FAST
@given(st.text(max_size=200))
def test_path_readings_are_normal(path: str) -> None:
    readings = path_readings("/" + path)
    assert readings[0] == "/" + path
    for normal in readings[1:]:
        assert normal.startswith("/")
        assert "//" not in normal and "/../" not in normal and "/./" not in normal
        assert path_readings(normal)[1:] in ((), (normal,))  # idempotent
    line = printable(path)
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in line)


@pytest.mark.timeout(120)
@FAST
@given(st.text(max_size=3000))
def test_user_agents_never_raise(ua: str) -> None:
    found = crawlers_in_user_agent(ua)
    assert len(found) == len(set(found))


@pytest.mark.timeout(120)
@FAST
@given(st.text(max_size=60))
def test_address_class_never_raises(address: str) -> None:
    assert address_class(address)


@pytest.mark.timeout(180)
@FAST
@given(st.binary(max_size=1024), st.binary(max_size=1024), st.binary(max_size=1024))
def test_assess_never_raises(robots: bytes, tdmrep: bytes, ai: bytes) -> None:
    origin = "https://a.example"
    text = [("content-type", "text/plain")]
    site = SiteSignals.build(
        origin,
        Resource.make(origin + "/robots.txt", 200, text, robots, truncated=True),
        Resource.make(origin + "/.well-known/tdmrep.json", 200, text, tdmrep, truncated=True),
        Resource.make(origin + "/ai.txt", 200, text, ai),
    )
    json.dumps(assess_url(origin + "/music/a.mp3", site).to_json())


@pytest.mark.timeout(300)
@FILES
@given(st.binary(max_size=4096), st.sampled_from([".wav", ".mid", ".krn", ".abc", ".musicxml"]))
def test_media_readers_raise_only_media_error(tmp_path: Path, data: bytes, suffix: str) -> None:
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        if suffix == ".wav":
            from tdmguard.fingerprint.audio.decode import decode_mono

            decode_mono(path, rate_hz=8000, max_duration_s=60)
        else:
            from tdmguard.fingerprint.melody.notes import read_note_lines

            read_note_lines(path)
    except MediaError:
        pass


@pytest.mark.timeout(300)
@FILES
@given(st.text(max_size=2000), st.sampled_from([".csv", ".tsv", ".jsonl"]))
def test_catalogue_raises_only_input_error(tmp_path: Path, text: str, suffix: str) -> None:
    path = tmp_path / f"cat{suffix}"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    with contextlib.suppress(InputError):
        read_catalogue(path)
