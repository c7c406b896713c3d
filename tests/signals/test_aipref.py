from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tdmguard.signals.aipref import combine_preferences, parse_content_usage, split_robots_rule
from tdmguard.vocab import Stance, Use


def test_split_robots_rule() -> None:
    assert split_robots_rule("/a/b train-ai=n") == ("/a/b", "train-ai=n")
    assert split_robots_rule("train-ai=n") == (None, "train-ai=n")
    assert split_robots_rule("/only-path") == ("/only-path", "")
    assert split_robots_rule("/a\ttrain-ai=y") == ("/a", "train-ai=y")


def test_combine_any_disallow_wins() -> None:
    got = combine_preferences([parse_content_usage("search=y"), parse_content_usage("search=n")])
    assert got[Use.SEARCH] is Stance.DENY


def test_legacy_broad_label_covers_every_use() -> None:
    assert set(parse_content_usage("tdm=n").stances().values()) == {Stance.DENY}
    assert parse_content_usage("train-genai=n").stances() == {Use.GENAI_TRAIN: Stance.DENY}


def test_unknown_labels_are_ignored_with_a_problem() -> None:
    prefs = parse_content_usage("foo=n")
    assert not prefs.labels and any("unknown label" in p for p in prefs.problems)


@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_never_raises(value: str | bytes) -> None:
    prefs = parse_content_usage(value)
    assert set(prefs.labels.values()) <= {Stance.ALLOW, Stance.DENY}
    if prefs.parse_failed:
        assert not prefs.labels


@given(
    st.dictionaries(
        st.sampled_from(["train-ai", "search", "ai", "tdm"]), st.sampled_from("yn"), min_size=1
    )
)
def test_round_trip_of_well_formed_dictionaries(prefs: dict[str, str]) -> None:
    value = ", ".join(f"{k}={v}" for k, v in prefs.items())
    parsed = parse_content_usage(value)
    assert {k: s.value for k, s in parsed.labels.items()} == {
        k: "allow" if v == "y" else "deny" for k, v in prefs.items()
    }
