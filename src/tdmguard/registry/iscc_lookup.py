"""Works found by ISCC: the same ISCC, or a *near* one, i.e. a Content-Code unit of the same
subtype (audio, image, text) within :data:`DEFAULT_MAX_DISTANCE` bits (Hamming distance of
the 64-bit Content-Code bodies stored in each work's ISCC-CODE).

The lookup is a linear scan over the ISCCs the registry stores, optionally one holder's:
O(n) 64-bit XOR-popcounts for n works with an ISCC, each stored code decoded once per
process (cached). Measured (loaded 2-core machine): 20 000 codes in 1.9 s cold, 0.09 s
warm. An index (e.g. a multi-index hash over 16-bit blocks) would be the step beyond.
"""

from __future__ import annotations

from dataclasses import dataclass

from tdmguard.errors import InputError
from tdmguard.fingerprint.iscc_code import content_distance, parse_iscc
from tdmguard.registry.store import Registry
from tdmguard.registry.values import WorkInfo

__all__ = ["DEFAULT_MAX_DISTANCE", "IsccMatch", "find_by_iscc"]

# Bits of 64 that may differ. Measured on the iscc-samples files (docs/registry.md): a
# third-size JPEG re-encode is 0 bits away, a 90° rotation or a mirror image 34; the same
# recording in MP3 / Ogg / Opus / WAV is 0 bits away, AAC 2.
DEFAULT_MAX_DISTANCE = 10


@dataclass(frozen=True, slots=True)
class IsccMatch:
    work_id: str
    holder: str
    title: str
    iscc: str
    distance: int  # Content-Code bits that differ (0: same content), -1: same ISCC, no content
    exact: bool  # the whole ISCC is equal

    def to_json(self) -> dict[str, object]:
        return {
            "work": self.work_id,
            "holder": self.holder,
            "title": self.title,
            "iscc": self.iscc,
            "content_distance": self.distance if self.distance >= 0 else None,
            "exact": self.exact,
        }


def _canonical(iscc: str) -> str:
    units = parse_iscc(iscc)
    return units[0] if len(units) == 1 else "ISCC:" + iscc.strip().upper().removeprefix("ISCC:")


def find_by_iscc(
    reg: Registry,
    iscc: str,
    *,
    holder: str | None = None,
    max_distance: int = DEFAULT_MAX_DISTANCE,
    works: list[WorkInfo] | None = None,
) -> list[IsccMatch]:
    """Works whose ISCC equals ``iscc`` or whose Content-Code is within ``max_distance``
    bits of its Content-Code; nearest first. ``iscc`` is validated first (InputError)."""
    wanted = _canonical(iscc)
    candidates = works if works is not None else reg.list_works(holder)
    out: list[IsccMatch] = []
    for work in candidates:
        if not work.iscc:
            continue
        exact = work.iscc.strip().upper() == wanted.upper()
        try:
            distance = content_distance(wanted, work.iscc)
        except InputError:
            distance = None  # a malformed stored code is skipped, not fatal
        if exact or (distance is not None and distance <= max_distance):
            out.append(
                IsccMatch(
                    work.id,
                    work.holder,
                    work.title,
                    work.iscc,
                    distance if distance is not None else -1,
                    exact,
                )
            )
    out.sort(key=lambda m: (not m.exact, m.distance, m.work_id))
    return out
