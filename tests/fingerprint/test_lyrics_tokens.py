"""TokenEncoder's byte-chunk path gives exactly what the token regex and split_token give."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tdmguard.fingerprint.lyrics.hashing import UNITS, token_hash
from tdmguard.fingerprint.lyrics.normalise import TOKEN_PATTERN, split_token
from tdmguard.fingerprint.lyrics.tokens import TokenEncoder

# separators of both kinds (ASCII ones cut chunks, others only the regex), line breaks,
# letters of spaced and unspaced scripts, marks, apostrophes, NUL, a lone surrogate
ALPHABET = list("ab Z9'’-—“”\u00a0\u2028\t\r\n.,!語カ\u0e01\u0e33\u0301ﬁ㍿\x00\x1c\ud800")


def reference(text: str) -> tuple[list[int], list[int], list[int], list[int], list[int]]:
    """(hashes, units, raw index, line, offset) from the regex, one raw token at a time."""
    out: tuple[list[int], ...] = ([], [], [], [], [])
    line = 1
    for number, raw in enumerate(TOKEN_PATTERN.findall(text)):
        if raw == "\n":
            line += 1
            continue
        for sub in split_token(raw):
            for column, value in zip(out, (token_hash(sub.text), UNITS[sub.kind], number,
                                           line, sub.offset), strict=True):
                column.append(value)
    return out  # type: ignore[return-value]


def encoded(encoder: TokenEncoder, text: str) -> tuple[list[int], ...]:
    toks = encoder.encode(text)
    offsets, _ = encoder.char_offsets(toks.sub)
    return (toks.hashes.tolist(), toks.units.tolist(), toks.raw_index.tolist(),
            toks.line.tolist(), offsets.tolist())


ENCODER = TokenEncoder()  # shared: later examples meet chunks learned by earlier ones


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(ALPHABET), max_size=200) | st.text(max_size=200))
@example("wait\u2014what “quoted”\nnext line\r\n\n—\n")
@example("nul\x00 inside\nand\u2028line")
@example("surrogate \ud800 here")
def test_byte_chunks_match_the_regex(text: str) -> None:
    assert encoded(ENCODER, text) == reference(text)
    assert encoded(TokenEncoder(), text) == reference(text)


def test_line_and_raw_index_across_a_long_text() -> None:
    text = "Oh my darling, oh my darling—\nOh my darling Clementine\n\n" * 50
    toks = ENCODER.encode(text)
    assert encoded(ENCODER, text) == reference(text)
    assert int(toks.line.max()) == 3 * 49 + 2  # last block starts on line 148
    assert np.all(np.diff(toks.raw_index) > 0)
