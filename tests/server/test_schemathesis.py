"""Property-based tests against the live OpenAPI document (schemathesis): for every
operation, generated requests (valid and invalid) never get a 5xx, and every response
matches the schema the API publishes.

The default run sends a few examples per operation to a SQLite-backed server; the slow run
(``make test-slow``) sends more, and to PostgreSQL too."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

from tests.server.conftest import Live, make_live

SLOW = os.environ.get("TDMGUARD_SCHEMATHESIS_EXAMPLES")
EXAMPLES = int(SLOW) if SLOW else 6


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=[pytest.mark.postgres,
                                                                     pytest.mark.slow])])
def st_live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Live]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'st.db'}"
        yield from make_live(url, tmp_path, max_upload_bytes=1024 * 1024)
        return
    base = os.environ.get("TDMGUARD_TEST_PG_URL")
    if not base:
        pytest.skip("no PostgreSQL server: set TDMGUARD_TEST_PG_URL")
    from tests.conftest import _pg_database

    for url in _pg_database(base):
        yield from make_live(url, tmp_path, max_upload_bytes=1024 * 1024)


def test_no_server_errors_and_responses_match_the_schema(st_live: Live) -> None:
    """Each operation, positive and negative generated cases, with an admin key (a read key
    mostly gets 403 before any parsing, so it would reach less of the code)."""
    schema = schemathesis.openapi.from_url(f"{st_live.url}/openapi.json")
    auth = {"Authorization": f"Bearer {st_live.admin}"}
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                      suppress_health_check=list(HealthCheck), database=None)
            def run(case: Any) -> None:
                response = case.call(headers=auth, timeout=60)
                case.validate_response(response, checks=checks)

            try:
                run()
            except Unsatisfiable:
                # nothing to make invalid (an operation without parameters or body)
                assert mode is GenerationMode.NEGATIVE, operation.label
