from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tdmguard.signals.content_signal import parse_content_signal
from tdmguard.vocab import Stance, Use


def test_path_and_values() -> None:
    cs = parse_content_signal("/blog/ ai-train=no, ai-input=yes, search=maybe, foo=no")
    assert cs.path == "/blog/"
    assert cs.stances() == {
        Use.AI_TRAIN: Stance.DENY,
        Use.GENAI_TRAIN: Stance.DENY,
        Use.AI_INPUT: Stance.ALLOW,
    }
    assert len(cs.problems) == 2


@given(st.text(max_size=300))
def test_never_raises(value: str) -> None:
    cs = parse_content_signal(value)
    assert set(cs.values) <= {"search", "ai-input", "ai-train"}
    assert cs.use_level in (None, "immediate", "reference", "full")
