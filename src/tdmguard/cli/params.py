"""Parsing of CLI values (dates, uses, purposes) into vocabulary, with errors naming the flag."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date
from typing import TypeVar

from tdmguard.errors import InputError
from tdmguard.vocab import Purpose, Use

__all__ = ["parse_date", "parse_purposes", "parse_uses", "today"]

E = TypeVar("E", bound=enum.Enum)


def today() -> date:
    return date.today()


def parse_date(value: str | None, *, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InputError(f"expected a date YYYY-MM-DD, got {value!r}", where=flag) from exc


def _parse_enum(cls: type[E], values: Iterable[str], *, flag: str, noun: str) -> list[E]:
    out: list[E] = []
    for value in values:
        try:
            out.append(cls(value.strip().lower()))
        except ValueError as exc:
            choices = ", ".join(str(member.value) for member in cls)
            raise InputError(f"unknown {noun} {value!r} (one of {choices})", where=flag) from exc
    return out


def parse_uses(values: Iterable[str], *, flag: str = "--use") -> list[Use]:
    return _parse_enum(Use, values, flag=flag, noun="use")


def parse_purposes(values: Iterable[str], *, flag: str = "--purpose") -> list[Purpose]:
    return _parse_enum(Purpose, values, flag=flag, noun="purpose")
