"""Identifiers with their check digits: valid codes compact, each wrong one names the field."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tdmguard.errors import InputError
from tdmguard.registry.identifiers import (
    iswc_check_digit,
    normalise_isni,
    normalise_isrc,
    normalise_iswc,
    normalise_upc,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("GB-AYE-24-00001", "GBAYE2400001"), ("usskg1912345", "USSKG1912345"),
     ("QM-ABC-25-00001", "QMABC2500001"), (" ", None), (None, None)],
)
def test_isrc_valid(value: str | None, expected: str | None) -> None:
    assert normalise_isrc(value) == expected


@pytest.mark.parametrize(("value", "why"), [("XX-SKG-19-12345", "country"),
                                           ("GB-AYE-24-0001", "length"),
                                           ("GB-AYE-2X-00001", "format")])
def test_isrc_invalid_names_field_and_reason(value: str, why: str) -> None:
    with pytest.raises(InputError, match=why) as info:
        normalise_isrc(value, where="cat.csv:3: isrc")
    assert info.value.where == "cat.csv:3: isrc"


def test_iswc_check_digit() -> None:
    # ISO 15707's worked example (T-034.524.680-1).
    assert normalise_iswc("T-034.524.680-1") == "T0345246801"
    with pytest.raises(InputError, match="check digit"):
        normalise_iswc("T-034.524.680-2")
    with pytest.raises(InputError, match="format"):
        normalise_iswc("T-034.524.68-1")


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_iswc_every_wrong_check_digit_is_refused(digits: str) -> None:
    good = iswc_check_digit(digits)
    assert normalise_iswc(f"T{digits}{good}") == f"T{digits}{good}"
    for bad in set(range(10)) - {good}:
        with pytest.raises(InputError):
            normalise_iswc(f"T{digits}{bad}")


@pytest.mark.parametrize("value", ["036000291452", "4006381333931", "10614141000415"])
def test_upc_ean_gtin_valid(value: str) -> None:
    assert normalise_upc(value) == value


def test_upc_leading_zeros_lost_by_a_spreadsheet_are_restored() -> None:
    assert normalise_upc("36000291452") == "036000291452"
    with pytest.raises(InputError, match="check digit"):
        normalise_upc("36000291453")


@pytest.mark.parametrize(("value", "why"), [("036000291453", "check digit"),
                                           ("12ab", "12 to 14 digits"),
                                           ("12345", "12 to 14 digits")])
def test_upc_invalid(value: str, why: str) -> None:
    with pytest.raises(InputError, match=why):
        normalise_upc(value)


def test_isni() -> None:
    assert normalise_isni("0000 0001 2281 955X") == "000000012281955X"
    with pytest.raises(InputError, match="check digit"):
        normalise_isni("0000 0001 2281 9551")
