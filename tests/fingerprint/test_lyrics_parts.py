"""Lyrics engine parts: hashing and aux packing, alignment, background table, chunked
reading (offsets of every chunk point into the whole text)."""

from __future__ import annotations

import codecs
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tdmguard.fingerprint.lyrics.align import align_words, best_chain, recover_tokens
from tdmguard.fingerprint.lyrics.background import BackgroundTable, FrequencyClass, encode_table
from tdmguard.fingerprint.lyrics.hashing import (
    BASE,
    MAX_LINE,
    MAX_TOKEN,
    WINDOW_UNITS,
    ngram_windows,
    pack_aux,
    unpack_aux,
    varied_windows,
    window_hashes,
    window_raw,
    word_keys,
)
from tdmguard.fingerprint.lyrics.reading import (
    TimedTextFormat,
    blank_timing,
    iter_text_chunks,
    sniff_format,
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, MAX_TOKEN), st.integers(1, MAX_LINE),
                          st.integers(0, 3)), min_size=1, max_size=50))
def test_aux_packing_round_trips(rows: list[tuple[int, int, int]]) -> None:
    token, line, span = (np.array(col, dtype=np.int64) for col in zip(*rows, strict=True))
    packed = pack_aux(token, line, span)
    assert packed.dtype == np.int32
    back = unpack_aux(packed)
    for got, want in zip(back, (token, line, span), strict=True):
        assert np.array_equal(got, want)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([4, 4, 4, 3, 1]), max_size=40) | st.lists(st.just(4), max_size=40))
def test_ngram_windows_are_the_shortest_runs_of_window_units(units: list[int]) -> None:
    want = []
    for i in range(len(units)):
        total = 0
        for j in range(i, len(units)):
            total += units[j]
            if total >= WINDOW_UNITS:
                want.append((i, j))
                break
    start, end = ngram_windows(np.array(units, np.int8))
    assert list(zip(start.tolist(), end.tolist(), strict=True)) == want


def test_window_hash_depends_only_on_window_content() -> None:
    rng = np.random.default_rng(1)
    tokens = rng.integers(0, 2**63, 40, dtype=np.int64).astype(np.uint64)
    units = np.full(40, 4, np.int8)
    start, end = ngram_windows(units)
    assert np.array_equal(end - start, np.full(start.shape, 2))  # three words
    keys = window_hashes(tokens, start, end)
    shifted = window_hashes(np.concatenate([tokens[7:], tokens[:7]]), start, end)
    assert keys[7] == shifted[0]  # same three tokens, another position: same hash
    assert len(set(keys.tolist())) == keys.shape[0]
    # ideographs weigh 3 units: a window holds 4 of them
    s2, e2 = ngram_windows(np.full(20, 3, np.int8))
    assert int(e2[0] - s2[0]) == 3


def test_windows_of_one_repeated_token_are_not_varied() -> None:
    a, b = 11, 22
    tokens = np.array([a, a, a, b, a, a, a, a], np.uint64)
    start = np.arange(6, dtype=np.int64)
    varied = varied_windows(tokens, start, start + 2)
    assert varied.tolist() == [False, True, True, True, False, False]
    assert varied_windows(tokens, start[:0], start[:0]).shape == (0,)


def test_best_chain_takes_ordered_hits_and_skips_crossing_ones() -> None:
    q = np.array([0, 1, 2, 3, 50, 4, 5], np.int64)
    r = np.array([10, 11, 12, 13, 0, 14, 2], np.int64)
    w = np.ones(7, np.float32)
    chain = best_chain(q, r, w, max_gap=20)
    assert sorted(chain.hits.tolist()) == [0, 1, 2, 3, 5]
    assert chain.weight == 5.0


def test_best_chain_steps_along_the_diagonal_or_past_the_window() -> None:
    # three-token windows: query windows at 0 and 1 overlap, so their reference windows
    # must be one token apart too; 0 -> (1, r 9) would put the shared tokens at two places
    q = np.array([0, 1, 1, 5], np.int64)
    r = np.array([0, 9, 1, 12], np.int64)
    w = np.array([1, 3, 1, 1], np.float32)
    length = np.full(4, 3, np.int64)
    free = best_chain(q, r, w, max_gap=20)
    assert free.hits.tolist() == [0, 1, 3]  # without lengths the stitched step is taken
    strict = best_chain(q, r, w, max_gap=20, length=length)
    assert strict.hits.tolist() in ([0, 2, 3], [1, 3])
    assert strict.weight == 4.0
    # a step past the window's end on both sides (an edit, interleaved text) is allowed
    gap = best_chain(np.array([0, 4], np.int64), np.array([0, 9], np.int64),
                     np.ones(2, np.float32), max_gap=20, length=np.full(2, 3, np.int64))
    assert len(gap) == 2
    assert len(best_chain(q[:0], r[:0], w[:0], max_gap=20)) == 0


def test_background_table_classes() -> None:
    keys = np.array([8, 16, 1 << 63], np.uint64)
    table = BackgroundTable(encode_table(keys, np.array([0, 1, 1])))
    weights = table.weights(np.array([8, 16, 1 << 63, 24, 9], np.uint64))
    assert weights.tolist() == [0.0, 0.5, 0.5, 1.0, 0.0]  # 9 shares 8's masked hash
    assert len(BackgroundTable.packaged()) > 10_000
    assert FrequencyClass.FREQUENT == 0


def test_blank_timing_keeps_offsets_and_lines() -> None:
    srt = "1\n00:00:01,000 --> 00:00:02,500\n<i>Hello there</i>\n\n2\n00:00:03,000 --> " \
          "00:00:04,000\nGeneral Kenobi\n"
    assert sniff_format("x.txt", srt) is TimedTextFormat.SRT
    out = blank_timing(srt, TimedTextFormat.SRT)
    assert len(out) == len(srt) and out.count("\n") == srt.count("\n")
    assert out.split() == ["Hello", "there", "General", "Kenobi"]
    lrc = "[ar:Someone]\n[00:01.00]first line\n[00:02.50]<00:02.60>second\n"
    assert sniff_format("song.txt", lrc) is TimedTextFormat.LRC
    assert blank_timing(lrc, TimedTextFormat.LRC).split() == ["first", "line", "second"]
    assert sniff_format("plain.txt", "just [some] text") is TimedTextFormat.PLAIN


@settings(max_examples=25, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab \n語é")), min_size=0, max_size=3000),
       st.integers(50, 400))
def test_chunks_point_into_the_whole_text(tmp_path_factory: object, text: str,
                                          chunk: int) -> None:
    folder = Path(__import__("tempfile").mkdtemp())
    path = folder / "t.txt"
    path.write_bytes(codecs.encode(text, "utf-8"))
    covered = 0
    for part in iter_text_chunks(path, chunk_chars=chunk, overlap_chars=chunk // 4):
        assert part.text == text[part.char_base : part.char_base + len(part.text)]
        assert part.line_base == text.count("\n", 0, part.char_base) + 1
        assert part.char_base <= covered  # no gap between chunks
        covered = part.char_base + len(part.text)
    assert covered == len(text)


def test_window_raw_undoes_the_mixing_and_recovers_a_lyrics_words() -> None:
    rng = np.random.default_rng(7)
    tokens = rng.integers(0, 2**63, 12, dtype=np.uint64)
    start = np.arange(10, dtype=np.int64)
    raw = window_raw(window_hashes(tokens, start, start + 2), 3)
    mask = (1 << 64) - 1
    t = [int(x) for x in tokens]
    assert [int(x) for x in raw] == [
        (t[s] * BASE * BASE + t[s + 1] * BASE + t[s + 2]) & mask for s in range(10)]
    # windows 4-6 known (a matched window); the others give the rest, one token each,
    # until a window is missing (5: not indexed) on the left
    raw_at = {s: int(raw[s]) for s in range(10) if s != 1}
    got = recover_tokens({4: t[4], 5: t[5], 6: t[6]}, raw_at, 3, 0, 11, BASE)
    assert {p: got[p] for p in range(2, 12)} == {p: t[p] for p in range(2, 12)}
    assert 0 not in got and 1 not in got
    # a one-token hash never equals a window's
    assert not set(word_keys(tokens).tolist()) & set(
        window_hashes(tokens, start, start + 2).tolist())


def test_align_words_substitution_insertion_deletion_and_end() -> None:
    lyric: list[int | None] = [1, 2, 3, 4, 5]
    # one word changed: the words after it still align
    assert align_words([1, 9, 3, 4], lyric, anchored_end=False) == [(0, 0), (2, 2), (3, 3)]
    # one word inserted / deleted
    assert align_words([1, 2, 8, 3, 4], lyric, anchored_end=False) == [
        (0, 0), (1, 1), (3, 2), (4, 3)]
    assert align_words([1, 3, 4, 5], lyric, anchored_end=False) == [(0, 0), (1, 2), (2, 3),
                                                                       (3, 4)]
    # a changed word then one chance match scores 0.5: kept at min_score 0, not at 0.5
    assert align_words([9, 2, 7, 7], lyric, anchored_end=False) == [(1, 1)]
    assert align_words([9, 2, 7, 7], lyric, anchored_end=False, min_score=0.5) == []
    # nothing in common, or a lyric word not recovered (None)
    assert align_words([7, 8], [None, None], anchored_end=False) == []
    # between two anchors the whole stretch is aligned
    assert align_words([1, 9], [1, 2], anchored_end=True) == [(0, 0)]
