"""Industry identifiers of works, validated with their check digits.

ISRC (ISO 3901: format and country code), UPC/EAN/GTIN (GS1 mod-10 check digit) and ISNI
(ISO 27729, ISO 7064 MOD 11-2) through python-stdnum; ISWC (ISO 15707) by hand, since
python-stdnum has no ISWC module. Each function returns the compact form (``None`` for an
empty value) or raises :class:`InputError` naming ``where`` and what is wrong.
"""

from __future__ import annotations

import re

from stdnum import ean, isni, isrc
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidLength,
    ValidationError,
)

from tdmguard.errors import InputError

__all__ = ["iswc_check_digit", "normalise_isni", "normalise_isrc", "normalise_iswc",
           "normalise_upc"]

_ISWC = re.compile(r"^T(\d{9})(\d)$")


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def _why(exc: ValidationError) -> str:
    if isinstance(exc, InvalidChecksum):
        return "wrong check digit"
    if isinstance(exc, InvalidLength):
        return "wrong length"
    if isinstance(exc, InvalidComponent):
        return "unknown country code"
    return "wrong format"


def normalise_isrc(value: str | None, *, where: str = "isrc") -> str | None:
    """``CC-XXX-YY-NNNNN``: country (ISO 3166 or an agency code), registrant, year, number."""
    if _blank(value):
        return None
    assert value is not None
    try:
        return str(isrc.validate(value))
    except ValidationError as exc:
        raise InputError(f"not an ISRC (CC-XXX-YY-NNNNN; {_why(exc)}): {value!r}",
                         where=where) from exc


def iswc_check_digit(digits: str) -> int:
    """ISO 15707 check digit of the nine digits of an ISWC: ``1 + sum(i * d_i)``, then the
    complement modulo 10."""
    total = 1 + sum(i * int(d) for i, d in enumerate(digits, start=1))
    return (10 - total % 10) % 10


def normalise_iswc(value: str | None, *, where: str = "iswc") -> str | None:
    """``T-DDD.DDD.DDD-C`` with its check digit, compacted to ``TDDDDDDDDDC``."""
    if _blank(value):
        return None
    assert value is not None
    code = re.sub(r"[\s.\-]", "", value.strip().upper())
    match = _ISWC.match(code)
    if not match:
        raise InputError(f"not an ISWC (T-DDD.DDD.DDD-C; wrong format): {value!r}", where=where)
    if iswc_check_digit(match.group(1)) != int(match.group(2)):
        raise InputError(f"not an ISWC (T-DDD.DDD.DDD-C; wrong check digit): {value!r}",
                         where=where)
    return code


def normalise_upc(value: str | None, *, where: str = "upc") -> str | None:
    """A UPC-A (12 digits), EAN-13 or GTIN-14 with its GS1 check digit.

    Spreadsheets store a UPC as a number and drop its leading zeros (``036000291452`` becomes
    ``36000291452``); leading zeros do not change a GTIN, so a code of 8 to 11 digits is padded
    to 12 and must then pass the check digit."""
    if _blank(value):
        return None
    assert value is not None
    code = re.sub(r"[\s\-]", "", value.strip())
    if code.isdigit() and 8 <= len(code) < 12:
        code = code.zfill(12)
    if not (code.isdigit() and len(code) in (12, 13, 14)):
        raise InputError(f"not a UPC/EAN (12 to 14 digits): {value!r}", where=where)
    try:
        return str(ean.validate(code))
    except ValidationError as exc:
        raise InputError(f"not a UPC/EAN ({_why(exc)}): {value!r}", where=where) from exc


def normalise_isni(value: str | None, *, where: str = "isni") -> str | None:
    """An ISNI (16 characters, the last a MOD 11-2 check character), compacted."""
    if _blank(value):
        return None
    assert value is not None
    try:
        return str(isni.validate(value))
    except ValidationError as exc:
        raise InputError(f"not an ISNI (16 digits, last may be X; {_why(exc)}): {value!r}",
                         where=where) from exc
