from __future__ import annotations

from itertools import combinations

import pytest

from tdmguard.declare.labels import (
    AIPREF_LABELS,
    CONTENT_SIGNAL_LABELS,
    IPTC_LABELS,
    ROBOTS_META_LABELS,
    RSL_LABELS,
    iptc_data_mining,
    labels_for,
    tdm_reservation,
    unexpressed,
)
from tdmguard.vocab import Use, covered_uses, uses_for_label

ALL_SETS = [frozenset(c) for n in range(1, len(Use) + 1) for c in combinations(Use, n)]
PROTOCOLS = [
    ("aipref", AIPREF_LABELS),
    ("content-signal", CONTENT_SIGNAL_LABELS),
    ("rsl", RSL_LABELS),
    ("robots-meta", ROBOTS_META_LABELS),
    ("iptc", tuple(v.lower() for v in IPTC_LABELS)),
]


@pytest.mark.parametrize(("protocol", "labels"), PROTOCOLS)
def test_no_channel_claims_more_than_the_declaration(
    protocol: str, labels: tuple[str, ...]
) -> None:
    for reserved in ALL_SETS:
        covered = covered_uses(reserved)
        for label in labels_for(protocol, labels, reserved):
            assert covered_uses(uses_for_label(protocol, label)) <= covered, (
                protocol,
                reserved,
                label,
            )
        reached = covered - unexpressed(protocol, labels, reserved)
        assert reached <= covered


def test_examples() -> None:
    assert labels_for("rsl", RSL_LABELS, {Use.TDM}) == ("all",)
    assert labels_for("rsl", RSL_LABELS, {Use.AI_TRAIN, Use.AI_INPUT}) == ("ai-all",)
    assert labels_for("aipref", AIPREF_LABELS, {Use.AI_TRAIN}) == ("train-ai",)
    # AIPREF has no category for non-generative training: that part is unexpressed.
    assert unexpressed("aipref", AIPREF_LABELS, {Use.AI_TRAIN}) == {Use.AI_TRAIN}
    assert labels_for("content-signal", CONTENT_SIGNAL_LABELS, {Use.GENAI_TRAIN}) == ()
    assert iptc_data_mining({Use.TDM}) == "DMI-PROHIBITED"
    assert iptc_data_mining({Use.AI_TRAIN}) == "DMI-PROHIBITED-AIMLTRAINING"
    assert iptc_data_mining({Use.SEARCH}) is None
    assert tdm_reservation({Use.TDM}) and not tdm_reservation({Use.AI_TRAIN, Use.AI_INPUT})
