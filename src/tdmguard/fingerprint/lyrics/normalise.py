"""Text normalisation and tokenisation for lyrics matching.

Tokens are found in the *original* text (so character offsets of a match point into the
document as it was given) as runs of characters between separators (white space and
punctuation), and each distinct token is normalised once: Unicode NFKC, case folding,
apostrophe variants unified, common elisions expanded (``ev'ry`` -> ``every``, ``goin'`` ->
``going``), Latin/Greek/Cyrillic diacritics removed, soft hyphens, zero-width characters,
apostrophes and symbols dropped. Punctuation, white space and line breaks only separate
tokens, so a lyric matches however its lines were broken or punctuated.

Scripts written without spaces between words (Han, kana, Thai, Lao, Khmer, Myanmar) are
split one character (with its combining marks) per token; :mod:`.hashing` gives such tokens
a smaller share of an n-gram window, so a window still spans about as much text as four
words.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "CONTRACTIONS",
    "ELISIONS",
    "TOKEN_PATTERN",
    "SubToken",
    "TokenKind",
    "normalise_text",
    "normalise_word",
    "split_token",
]


class TokenKind(enum.IntEnum):
    """What a token is, which sets its share of an n-gram window (``hashing.UNITS``)."""

    WORD = 0
    IDEOGRAPH = 1  # Han, kana: one character counts as a word (hashing.UNITS)
    SYLLABIC = 2  # Thai, Lao, Khmer, Myanmar letters: about a quarter of a word


# Separators: white space, ASCII punctuation except the apostrophe, Latin-1 punctuation,
# General Punctuation except U+2018/U+2019 (typographic apostrophes), music symbols (common
# in subtitles), CJK and full-width punctuation, danda, Arabic punctuation. One negated
# character class keeps the regex as fast as ``\w+``.
_SEPARATORS = (
    "\\s!\"#$%&()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~"
    "\u00a1\u00a7\u00ab\u00b6\u00b7\u00bb\u00bf"
    "\u2010-\u2017\u201a-\u205e"
    "\u2669-\u266f"
    "\u3000-\u3003\u3008-\u3011\u3014-\u301f"
    "\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
    "\u0964\u0965\u060c\u061b\u061f\u06d4"
)
# A token, or a line break (kept so line numbers come out of the same pass).
TOKEN_PATTERN = re.compile(f"[^{_SEPARATORS}]+|\n")

_IDEOGRAPHIC = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u31f0-\u31ff"  # katakana phonetic extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff66-\uff9f"  # half-width katakana
    "\U00020000-\U0003134f"  # CJK extensions B-G, compatibility supplement
)
_SYLLABIC = (
    "\u0e00-\u0e7f"  # Thai
    "\u0e80-\u0eff"  # Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
)
_NOSPACE = re.compile(f"([{_IDEOGRAPHIC}])|([{_SYLLABIC}])")
_APOSTROPHES = "'\u2019\u02bc\u2018\u00b4"
_APOSTROPHE_TABLE = str.maketrans({c: "'" for c in _APOSTROPHES})
_ASCII_DROP = re.compile(r"[^a-z0-9]+")
_LATIN_MARKS = re.compile("[\u0300-\u036f]")

# Common elisions of song lyrics, keyed by the case-folded word with apostrophes unified to
# "'". A trailing "in'" becomes "ing" by rule in :func:`normalise_word`.
ELISIONS: Mapping[str, str] = MappingProxyType(
    {
        "ev'ry": "every",
        "ev'rything": "everything",
        "ev'rybody": "everybody",
        "ev'ryone": "everyone",
        "o'er": "over",
        "e'er": "ever",
        "ne'er": "never",
        "'cause": "because",
        "'cos": "because",
        "cos": "because",
        "cuz": "because",
        "'em": "them",
        "'til": "until",
        "til": "until",
        "till": "until",
        "'round": "around",
        "'bout": "about",
        "th'": "the",
        "an'": "and",
        "'n'": "and",
        "'n": "and",
        "n'": "and",
        "heav'n": "heaven",
        "pow'r": "power",
        "flow'r": "flower",
        "o'": "of",
    }
)


# Contractions are written out, so "don't", "don’t", "dont" and "do not" give the same
# tokens (a quote that swaps one for the other otherwise loses every window around it).
# Keys: the case-folded word with apostrophes unified; apostrophe-free spellings only where
# they are not words of their own ("were", "well", "ill", "its", "id", "hell" are).
CONTRACTIONS: Mapping[str, str] = MappingProxyType(
    {
        "won't": "will not",
        "wont": "will not",
        "can't": "can not",
        "cant": "can not",
        "cannot": "can not",
        "shan't": "shall not",
        "ain't": "aint",
        "i'm": "i am",
        "im": "i am",
        "let's": "let us",
        "'tis": "it is",
        "'twas": "it was",
        "dont": "do not",
        "doesnt": "does not",
        "didnt": "did not",
        "isnt": "is not",
        "arent": "are not",
        "wasnt": "was not",
        "werent": "were not",
        "havent": "have not",
        "hasnt": "has not",
        "hadnt": "had not",
        "wouldnt": "would not",
        "couldnt": "could not",
        "shouldnt": "should not",
        "ive": "i have",
        "youre": "you are",
        "youve": "you have",
        "youll": "you will",
        "theyre": "they are",
        "theyve": "they have",
        "thats": "that is",
        "whats": "what is",
    }
)
# 're, 've, 'll after any word; 's and 'd only after these (elsewhere they are a
# possessive, "has", or a poetic past tense: "lov'd")
_SUFFIXES = {"re": "are", "ve": "have", "ll": "will", "m": "am"}
_S_IS = frozenset({"it", "that", "there", "here", "what", "where", "who", "how", "he", "she"})
_D_WOULD = frozenset({"i", "you", "he", "she", "we", "they", "it", "that", "who"})


def _expand(text: str) -> str:
    """``text`` (case-folded, apostrophes unified, letters kept) with a contraction written
    out ("do not"), or "" when it is not one."""
    full = CONTRACTIONS.get(text)
    if full is not None:
        return full
    if "'" not in text.strip("'"):
        return ""
    if text.endswith("n't") and len(text) > 3:
        return text[:-3].replace("'", "") + " not"
    head, _, tail = text.rpartition("'")
    head = head.replace("'", "")
    if not head:
        return ""
    if tail in _SUFFIXES:
        return f"{head} {_SUFFIXES[tail]}"
    if (tail == "s" and head in _S_IS) or (tail == "d" and head in _D_WOULD):
        return f"{head} {'is' if tail == 's' else 'would'}"
    return ""


_BARE_ELISIONS = {k: v for k, v in ELISIONS.items() if "'" not in k}
_BARE_ELISIONS |= {k: v for k, v in CONTRACTIONS.items() if "'" not in k}
_ASCII_KEEP = re.compile(r"[^a-z0-9']+")


def _elide(text: str) -> str:
    text = ELISIONS.get(text, text)
    if len(text) > 3 and text.endswith("in'"):
        text = text[:-1] + "g"
    return text


def normalise_word(word: str) -> str:
    """The normalised form of a word of a space-separated script (may be empty: drop it;
    a contraction is written out, several words separated by a space: "don't" -> "do not").

    Elisions are looked up once the word is reduced to letters, digits and apostrophes, and
    the bare forms (``til``, ``cos``) once more at the end, so normalising a normalised word
    changes nothing."""
    if word.isascii():
        text = _elide(_ASCII_KEEP.sub("", word.lower().replace("`", "'")))
        full = _expand(text)
        if full:
            return full
        text = _ASCII_DROP.sub("", text)
        return _BARE_ELISIONS.get(text, text)
    text = unicodedata.normalize("NFKC", word).casefold().translate(_APOSTROPHE_TABLE)
    text = _elide("".join(c for c in text if c == "'" or unicodedata.category(c)[0] in "LMN"))
    text = unicodedata.normalize("NFC", _LATIN_MARKS.sub("", unicodedata.normalize("NFKD", text)))
    full = _expand(text)
    if full:
        return full
    # keep letters, marks (Thai and Devanagari vowels are marks) and numbers only
    text = "".join(c for c in text if unicodedata.category(c)[0] in "LMN")
    return _BARE_ELISIONS.get(text, text)


@dataclass(frozen=True, slots=True)
class SubToken:
    """One normalised token of a raw token: its text, kind, and character offset and length
    within the raw token."""

    text: str
    kind: TokenKind
    offset: int
    length: int


def split_token(raw: str) -> list[SubToken]:
    """Normalise a raw token (a run between separators) into zero or more tokens.

    A word gives one token; a run of a no-space script gives one token per character (with
    the combining marks that follow it)."""
    if raw.isascii():
        # a contraction written out ("do not") gives a token per word, each spanning it
        return [SubToken(w, TokenKind.WORD, 0, len(raw)) for w in normalise_word(raw).split()]
    out: list[SubToken] = []
    word_start = -1
    i = 0
    n = len(raw)
    while i < n:
        # Classify by the NFKC form: compatibility characters (squared or half-width forms,
        # enclosed ideographs) must land where their normal form would, or normalising
        # twice would give other tokens.
        hit = _NOSPACE.search(unicodedata.normalize("NFKC", raw[i]))
        if hit is None:
            if word_start < 0:
                word_start = i
            i += 1
            continue
        if word_start >= 0:
            _add_word(out, raw, word_start, i)
            word_start = -1
        j = i + 1
        # A mark that starts a run (NFKC writes Thai SARA AM as NIKHAHIT + SARA AA) belongs
        # to the letter after it, so normalising twice gives the same tokens.
        if unicodedata.category(raw[i]).startswith("M") and j < n and _NOSPACE.match(raw, j):
            j += 1
        while j < n and unicodedata.category(raw[j]).startswith("M"):
            j += 1
        kind = TokenKind.IDEOGRAPH if hit.group(1) else TokenKind.SYLLABIC
        for piece in _nospace_pieces(unicodedata.normalize("NFKC", raw[i:j]).casefold()):
            out.append(SubToken(piece, kind, i, j - i))
        i = j
    if word_start >= 0:
        _add_word(out, raw, word_start, n)
    return out


def _nospace_pieces(text: str) -> list[str]:
    """Split normalised no-space text into the tokens a second pass would find: one per
    letter with its marks; anything else (digits, Latin letters, punctuation that NFKC
    produced) is normalised as a word, or dropped."""
    pieces: list[str] = []
    k, m = 0, len(text)
    while k < m:
        e = k + 1
        if unicodedata.category(text[k]).startswith("M") and e < m:
            e += 1
        while e < m and unicodedata.category(text[e]).startswith("M"):
            e += 1
        piece = text[k:e]
        if _NOSPACE.match(piece):
            pieces.append(piece)
        else:
            pieces.extend(sub.text for sub in split_token(piece) if sub.text)
        k = e
    return pieces


def _add_word(out: list[SubToken], raw: str, start: int, end: int) -> None:
    for word in normalise_word(raw[start:end]).split():
        out.append(SubToken(word, TokenKind.WORD, start, end - start))


def normalise_text(text: str) -> list[str]:
    """All normalised tokens of ``text`` in order (tests and tooling; the engine normalises
    each distinct raw token once, see :mod:`.tokens`)."""
    return [sub.text for raw in TOKEN_PATTERN.findall(text) for sub in split_token(raw)]
