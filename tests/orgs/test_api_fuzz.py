"""Schema-driven fuzzing of the administration API: schemathesis reads the
served OpenAPI document and sends generated valid and invalid parameters and
bodies to every operation, as Anna, administrator of customer A. No answer may
be a server error; every answer is JSON as documented, and invalid input is
refused. Bounded and reproducible: a fixed number of examples per operation,
derandomized, no example database."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from idp.orgs import admin_requests
from idp.orgs import api as admin_api
from idp.orgs.api_schema import NoQuery
from idp.store import db
from tests.orgs.test_api import A, Tenants, admin_portal, tenants, token_for

__all__ = ["admin_portal", "tenants"]  # fixtures shared with test_api

EXAMPLES = 20  # per operation and mode; about 15 s on SQLite
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# Removing Bernd comes last, so the other operations reach a user who exists.
OPERATIONS = sorted(admin_api.OPERATIONS, key=lambda op: op.operation_id == "delete_user")


def breakable(op: Any) -> bool:
    """Whether an operation has parameters or a body to break."""
    return "{" in op.path or op.query is not NoQuery


@pytest.fixture
def schema(web: Flask) -> Any:
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", web)


@pytest.fixture
def fixed(web: Flask, tenants: Tenants, admin_portal: Any) -> dict[str, Any]:
    """Real path values, so that generated queries and bodies reach the views."""
    request = admin_requests.request_admin(tenants.membership(tenants.bernd), reason=None)
    db.session.commit()
    return {
        "headers": {"Authorization": "Bearer " + token_for(web, tenants.anna.email)},
        "path_parameters": {
            "customer_number": A,
            "user_id": tenants.bernd.sub,
            "request_id": request.id,
        },
    }


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_operation_fails_on_generated_input(schema, fixed, mode):
    for op in OPERATIONS:
        if mode is GenerationMode.NEGATIVE and not breakable(op):
            continue
        try:
            fuzz(schema.find_operation_by_id(op.operation_id), fixed, mode)
        except Exception as error:
            error.add_note(f"operation: {op.operation_id} ({mode.value})")
            raise


def fuzz(operation: Any, fixed: dict[str, Any], mode: GenerationMode) -> None:
    path = {k: v for k, v in fixed["path_parameters"].items() if f"{{{k}}}" in operation.path}
    if mode is GenerationMode.NEGATIVE:
        path = {}  # let schemathesis break the path parameters too
    strategy = operation.as_strategy(
        generation_mode=mode, headers=fixed["headers"], path_parameters=path
    )

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call()
        case.validate_response(response, checks=CHECKS)
        if response.status_code != 204:
            assert response.headers["content-type"] == ["application/json"]

    run()
