"""The API fuzzed from its own OpenAPI document, as each role.

Schemathesis generates requests for every operation in ``/api/v1/openapi.json`` — ones that
fit the schema and ones that break it — and each is sent as every role in turn, so the scoped
paths (a station's own households, a charity's projects) are exercised and not only the 401
in front of them. No response may be a server error or differ from what the document promises
(status, content type, body schema). Examples are bounded and derandomized so CI is stable;
``FUZZ_EXAMPLES=200`` runs a longer search.
"""

from __future__ import annotations

import os
from collections import Counter

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.helpers import bearer

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
ROLES = ("admin", "ca_conghua", "station_a", "charity_f")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_no_request_breaks_the_api_or_its_schema(app: Flask) -> None:
    client = app.test_client()
    tokens = {username: bearer(client, username) for username in ROLES}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: dict[str, str] = {}
    operations = 0
    statuses: Counter[int] = Counter()
    answered: Counter[str] = Counter()  # successful responses per user
    refused_tokens: list[str] = []  # operations where a live token was answered 401
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # our document has no Err
        operations += 1
        cases = st.one_of(
            operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
            operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
        )

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=cases)
        def fuzz(case: schemathesis.Case) -> None:
            # Signing out revokes the token it is sent with: that operation gets fresh ones.
            signed_in = (
                tokens
                if case.method != "DELETE" or "auth" not in case.path
                else {username: bearer(client, username) for username in ROLES}
            )
            for username, headers in signed_in.items():
                response = case.call_and_validate(headers=headers, checks=CHECKS)
                statuses[response.status_code] += 1
                if response.status_code < 300:
                    answered[username] += 1
                if response.status_code == 401 and response.request.headers.get("Authorization"):
                    refused_tokens.append(case.operation.label)

        try:
            fuzz()
        except Exception as error:  # noqa: BLE001 - every operation is fuzzed, then all reported
            failures[operation.label] = f"{type(error).__name__}: {error}"[:2000]
    assert operations > 40, "the OpenAPI document lost its operations"
    # Negative cases drop the token on purpose; a live token must never be refused, or the roles
    # were never really tested.
    assert not [label for label in refused_tokens if "auth/token" not in label], refused_tokens
    assert all(answered[username] >= 40 for username in ROLES), (answered, statuses)
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())
