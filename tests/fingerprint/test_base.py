"""A stored fingerprint blob that is damaged reads as a clear input error, never a traceback."""

from __future__ import annotations

import numpy as np
import pytest

from tdmguard.errors import InputError
from tdmguard.fingerprint.base import Fingerprint
from tdmguard.vocab import Modality


def _blob() -> bytes:
    fp = Fingerprint(modality=Modality.LYRICS, engine="lyrics-test/1",
                     keys=np.arange(5, dtype=np.uint64), aux=np.zeros((5, 1), dtype=np.int32))
    return fp.to_bytes()


def test_a_blob_round_trips() -> None:
    back = Fingerprint.from_bytes(_blob())
    assert back.engine == "lyrics-test/1" and back.keys.tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("damage", [
    lambda b: b[: len(b) // 2],                 # cut short
    lambda b: b[:4] + b"\0" * (len(b) - 4),     # zip signature, garbage after it
    lambda b: b"",                              # empty
    lambda b: b"\x93NUMPY\x01\x00",             # a bare .npy header
])
def test_a_damaged_blob_is_an_input_error_naming_where(damage) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as info:
        Fingerprint.from_bytes(damage(_blob()), where="works row W1")
    assert "works row W1" in str(info.value) and "unreadable fingerprint blob" in str(info.value)
