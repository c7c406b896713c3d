from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from tdmguard.declare import DeclaredWork, HolderDeclaration
from tdmguard.errors import InputError
from tdmguard.vocab import Use
from tests.declare.examples import example_declaration


def test_json_round_trip() -> None:
    decl = example_declaration(frozenset({Use.AI_TRAIN, Use.AI_INPUT}), paths=("/music/", "/art/"))
    again = HolderDeclaration.from_json(decl.to_json())
    assert again == decl
    assert again.policy_url == "https://label.example/policies/tdm-policy.json"


def test_isrc_is_normalised_and_checked() -> None:
    assert DeclaredWork("w", isrc="gb-abc-26-00001").isrc == "GBABC2600001"
    with pytest.raises(InputError, match="ISRC"):
        DeclaredWork("w", isrc="GB-ABC-26")
    with pytest.raises(InputError, match="ISWC"):
        DeclaredWork("w", iswc="345246800")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("holder", "Evil\r\nSet-Cookie: x", "line breaks"),
        ("base_url", "https://label.example/sub", "origin"),
        ("base_url", "ftp://label.example", "origin"),
        ("contact_email", "nobody", "e-mail"),
        ("licensing_url", "javascript:alert(1)", "http"),
        ("reserved_uses", frozenset(), "no use"),
        ("reserved_paths", ("music/",), "path"),
        ("reserved_paths", ("/a b",), "path"),
        ("policy_path", "policies/x.json", "'/'"),
    ],
)
def test_bad_values_are_refused_with_the_field_named(
    field: str, value: object, message: str
) -> None:
    base = example_declaration()
    with pytest.raises(InputError, match=message) as info:
        dataclasses.replace(base, **{field: value})
    assert info.value.where is not None and "declaration" in info.value.where


def test_from_json_names_the_bad_field() -> None:
    data = example_declaration().to_json()
    data["effective_from"] = "yesterday"
    with pytest.raises(InputError):
        HolderDeclaration.from_json(data)
    data = example_declaration().to_json() | {"works": [{"work_id": 3}]}
    with pytest.raises(InputError, match=r"works\[0\]"):
        HolderDeclaration.from_json(data)


def test_unknown_work_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no work"):
        example_declaration().work("nope")
    assert example_declaration().work("awakening").isrc == "GBABC2600001"
    assert example_declaration().effective_from == date(2026, 1, 1)
