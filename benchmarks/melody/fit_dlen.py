"""The significance counted only where the aligned reference span differs in length from the
query span by at most ``D`` notes (a copy with up to 2 inserted or deleted notes differs by at
most 2); each threshold fitted on essen-cal draws 17+19 by ``fit_null``'s rule, held-out draws
18+20 reported (issue 14, seventh session: measured from the dumps, not shipped).

    python -m benchmarks.melody.fit_dlen
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

import benchmarks.melody.fit_null as fn
from tdmguard.fingerprint.melody import MelodyFingerprinter
from tdmguard.fingerprint.melody.engine import MelodyCandidate

CACHE = Path(__file__).parent / "cache"
Sig = Callable[[list[MelodyCandidate], fn.Terms, MelodyFingerprinter], list[float]]


def capped(base: Sig, most: int) -> Sig:
    def sig(cands: list[MelodyCandidate], t: fn.Terms, engine: MelodyFingerprinter
            ) -> list[float]:
        out = base(cands, t, engine)
        return [g if abs((c.ref_end - c.ref_start) - (c.query_end - c.query_start)) <= most
                else -1.0 for c, g in zip(cands, out, strict=True)]
    return sig


def main() -> None:
    engine = MelodyFingerprinter()
    base: Sig = fn.significance
    cal = fn.load([CACHE / "fp-17-cand24.json", CACHE / "fp-19-cand24.json"], engine,
                  ["essen-cal"])
    rep = fn.load([CACHE / "fp-18-cand24.json", CACHE / "fp-20-cand24.json"], engine,
                  fn.REPORT_GROUPS)
    m_cal, m_rep = fn.masks(cal), fn.masks(rep)
    grid = np.round(np.arange(0.70, 0.90, 0.0025), 4)
    at_080 = int(np.argmin(np.abs(grid - 0.80)))
    for most in (None, 2, 3):
        fn.significance = base if most is None else capped(base, most)  # type: ignore[assignment]
        ev_cal = fn.evaluate(cal, fn.Terms(), engine, 12, False, 0.0, grid)
        ev_rep = fn.evaluate(rep, fn.Terms(), engine, 12, False, 0.0, grid)
        j = fn.fit(ev_cal, m_cal, 0.0075)
        for label, at in (("fitted", j), ("0.80", at_080)):
            if at is None:
                continue
            print(f"D {most} {label} {grid[at]:.4f} | calibration "
                  f"{fn._fmt(fn.summarise(ev_cal, m_cal, ['essen-cal'], at))} | held out "
                  f"{fn._fmt(fn.summarise(ev_rep, m_rep, fn.REPORT_GROUPS, at))}")
    fn.significance = base  # type: ignore[assignment]


if __name__ == "__main__":
    main()
