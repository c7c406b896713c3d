"""Parsing of CLI values (dates, uses, purposes) into vocabulary, with errors naming the flag."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from tdmguard.errors import InputError
from tdmguard.vocab import Purpose, Use

__all__ = ["parse_date", "parse_purposes", "parse_uses", "today"]


def today() -> date:
    return date.today()


def parse_date(value: str | None, *, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InputError(f"expected a date YYYY-MM-DD, got {value!r}", where=flag) from exc


def parse_uses(values: Iterable[str], *, flag: str = "--use") -> list[Use]:
    out: list[Use] = []
    for value in values:
        try:
            out.append(Use(value.strip().lower()))
        except ValueError as exc:
            choices = ", ".join(u.value for u in Use)
            raise InputError(f"unknown use {value!r} (one of {choices})", where=flag) from exc
    return out


def parse_purposes(values: Iterable[str], *, flag: str = "--purpose") -> list[Purpose]:
    out: list[Purpose] = []
    for value in values:
        try:
            out.append(Purpose(value.strip().lower()))
        except ValueError as exc:
            choices = ", ".join(p.value for p in Purpose)
            raise InputError(f"unknown purpose {value!r} (one of {choices})", where=flag) from exc
    return out
