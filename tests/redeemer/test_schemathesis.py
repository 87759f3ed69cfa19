"""Schemathesis against the partner API's own OpenAPI: no 5xx, every response fits the spec."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi import checks as openapi_checks

import redeemer
from tests.factories import NOW

CHECKS = [
    schemathesis.checks.not_a_server_error,
    openapi_checks.response_schema_conformance,
    openapi_checks.content_type_conformance,
]


def test_every_operation_conforms_to_the_spec(database_url, tmp_path, monkeypatch, world):
    monkeypatch.setenv("YOUCARD_INSTANCE_PATH", str(tmp_path))
    app = redeemer.create_app(
        {
            "DATABASE_URL": database_url,
            "TESTING": True,
            "CLOCK": lambda: NOW,
            "RATELIMIT_ENABLED": False,
        }
    )
    w = world()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 17  # every route: credit notes, mandates, lists, offline, ...

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def check(case):
            headers = dict(w.auth)
            if case.method == "POST":
                headers["Idempotency-Key"] = "schemathesis"
            case.call_and_validate(headers=headers, checks=CHECKS)

        check()
