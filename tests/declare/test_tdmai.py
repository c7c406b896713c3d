"""TDM·AI declarations: the schema's objects (vectors of optout-protocols.md §9), the
vocabulary mapping both ways, and the signed envelope."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tdmguard.declare.tdmai import (
    TdmAiEntry,
    declaration_object,
    export_declarations,
    read_declaration_object,
    verify_declarations,
)
from tdmguard.errors import InputError, IntegrityError
from tdmguard.signing import generate_signing_key
from tdmguard.vocab import Purpose, Use

ISCC = "ISCC:KEC7VSV5QH7FTV7N5YVD5UMF4TUKFFGDGCOI4UDFKE4FNPW6C3L7J2Y"


def read(obj: dict[str, object]) -> tuple[frozenset[Use], tuple[str, ...]]:
    _, uses, problems = read_declaration_object(obj, where="d")
    return uses, problems


def test_spec_vector_genai_training_denied() -> None:
    uses, problems = read({"version": "1.0", "iscc": ISCC, "intent": "activate",
                           "train-genai": "false"})  # fmt: skip
    assert uses == {Use.GENAI_TRAIN} and not problems


def test_json_boolean_is_schema_invalid() -> None:
    with pytest.raises(InputError, match="string"):
        read({"version": "1.0", "iscc": ISCC, "intent": "activate", "train-ai": False})


@pytest.mark.parametrize(
    "bad",
    [
        {"iscc": ISCC, "intent": "activate"},
        {"version": "2.0", "iscc": ISCC, "intent": "activate"},
        {"version": "1.0", "iscc": ISCC, "intent": "revoke"},
        {"version": "1.0", "iscc": ISCC, "intent": "activate", "holder": "x"},
        {"version": "1.0", "iscc": "KEC7", "intent": "activate"},
    ],
)
def test_schema_violations_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(InputError):
        read(bad)


def test_all_false_with_permissions_is_narrowed_and_reported() -> None:
    uses, problems = read({"version": "1.0", "iscc": ISCC, "intent": "activate",
                           "all": "false", "ai-use": "true", "search": "true"})  # fmt: skip
    assert uses == {Use.AI_TRAIN}
    assert "cannot express" in problems[0]


@pytest.mark.parametrize(
    "reserved",
    [{Use.TDM}, {Use.AI_TRAIN}, {Use.GENAI_TRAIN}, {Use.AI_INPUT}, {Use.SEARCH},
     {Use.GENAI_TRAIN, Use.AI_INPUT}],
)
def test_every_reservation_round_trips(reserved: set[Use]) -> None:
    obj = declaration_object(ISCC, reserved)
    assert set(obj) <= {"version", "iscc", "intent", "all", "train-ai", "train-genai",
                        "ai-use", "search"}  # fmt: skip
    assert all(obj[k] == "false" for k in obj if k not in {"version", "iscc", "intent"})
    uses, _ = read(obj)
    assert uses == frozenset(reserved)


def _entry() -> TdmAiEntry:
    return TdmAiEntry(
        iscc=ISCC, reserved=frozenset({Use.AI_TRAIN}), effective_from=date(2026, 1, 1),
        work_id="w1", title="Awakening", kind="recording",
        purposes=frozenset({Purpose.COMMERCIAL}),
    )  # fmt: skip


def test_signed_export_verifies_and_reads_back() -> None:
    key = generate_signing_key()
    data = export_declarations("Example Music", [_entry()], key, contact="ai@l.example")
    doc = verify_declarations(data, key.public, where="f")
    assert doc.holder == "Example Music" and doc.contact == "ai@l.example"
    assert doc.entries[0].reserved == {Use.AI_TRAIN}
    assert doc.entries[0].purposes == {Purpose.COMMERCIAL}
    assert doc.entries[0].work_id == "w1"
    raw = json.loads(data)
    assert raw["declarations"][0]["declaration"]["train-ai"] == "false"
    assert raw["signature"]["key_id"] == key.public.key_id


def test_tampered_or_foreign_or_unsigned_documents_are_refused() -> None:
    key = generate_signing_key()
    data = export_declarations("Example Music", [_entry()], key)
    tampered = data.replace(b'"train-ai": "false"', b'"train-ai": "true"')
    assert tampered != data
    with pytest.raises(IntegrityError, match="bad signature"):
        verify_declarations(tampered, key.public, where="f")
    with pytest.raises(IntegrityError, match="not the pinned key"):
        verify_declarations(data, generate_signing_key().public, where="f")
    doc = json.loads(data)
    del doc["signature"]
    with pytest.raises(IntegrityError, match="not signed"):
        verify_declarations(json.dumps(doc).encode(), key.public, where="f")
    with pytest.raises(InputError, match="JSON"):
        verify_declarations(b"{nope", key.public, where="f")
