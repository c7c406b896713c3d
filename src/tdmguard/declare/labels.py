"""Which label each protocol gets for a set of reserved uses: the crosswalk read backwards.

The rule is the same for every channel: emit a protocol's label only when every use it
reserves (``vocab.CROSSWALK``, optout-protocols.md §0.2) is reserved by the holder, so no
channel claims more than the declaration; drop a label another emitted label already covers.
A reservation a protocol cannot express (AIPREF has no non-generative training category,
TDMRep only knows "all TDM") is left out of that channel, and :func:`unexpressed` says so.
"""

from __future__ import annotations

from collections.abc import Iterable

from tdmguard.vocab import Use, covered_uses, uses_for_label

__all__ = [
    "AIPREF_LABELS",
    "CONTENT_SIGNAL_LABELS",
    "IPTC_LABELS",
    "ROBOTS_META_LABELS",
    "RSL_LABELS",
    "iptc_data_mining",
    "labels_for",
    "tdm_reservation",
    "unexpressed",
]

# Candidate labels, in the order they are written (current vocabularies only: an emitter
# writes what today's readers understand).
AIPREF_LABELS = ("train-ai", "search")  # vocab-07 §3.2
CONTENT_SIGNAL_LABELS = ("search", "ai-input", "ai-train")  # contentsignals.org
RSL_LABELS = ("all", "ai-all", "ai-train", "ai-input", "search")  # RSL 1.0 usage tokens
ROBOTS_META_LABELS = ("noai", "noimageai")  # DeviantArt convention, §6.1
IPTC_LABELS = (
    "DMI-PROHIBITED",
    "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING",
    "DMI-PROHIBITED-AIMLTRAINING",
    "DMI-PROHIBITED-GENAIMLTRAINING",
)  # PLUS vocabulary, §8.1, broadest first


def labels_for(
    protocol: str, candidates: Iterable[str], reserved: Iterable[Use]
) -> tuple[str, ...]:
    """The labels of ``protocol`` to emit for ``reserved`` uses (see the module doc)."""
    covered = covered_uses(reserved)
    fitting = [
        label
        for label in candidates
        if (uses := covered_uses(uses_for_label(protocol, label))) and uses <= covered
    ]
    out: list[str] = []
    for label in fitting:
        mine = covered_uses(uses_for_label(protocol, label))
        wider = [
            other
            for other in fitting
            if other != label and mine < covered_uses(uses_for_label(protocol, other))
        ]
        if not wider:
            out.append(label)
    return tuple(out)


def iptc_data_mining(reserved: Iterable[Use]) -> str | None:
    """The one ``plus:DataMining`` value (a single-valued property) that fits, or None."""
    labels = labels_for("iptc", (v.lower() for v in IPTC_LABELS), reserved)
    for value in IPTC_LABELS:  # broadest first
        if value.lower() in labels:
            return value
    return None


def tdm_reservation(reserved: Iterable[Use]) -> bool:
    """TDMRep is binary: ``tdm-reservation: 1`` reserves all TDM (§1.1), so it is emitted
    only when ``tdm`` itself is reserved."""
    return bool(labels_for("tdmrep", ("1",), reserved))


def unexpressed(
    protocol: str, candidates: Iterable[str], reserved: Iterable[Use]
) -> frozenset[Use]:
    """Reserved uses that ``protocol``'s emitted labels do not reach."""
    reached: set[Use] = set()
    for label in labels_for(protocol, candidates, reserved):
        reached |= covered_uses(uses_for_label(protocol, label))
    return covered_uses(reserved) - reached
