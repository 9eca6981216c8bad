"""schemathesis over the server's OpenAPI document (GET /openapi.json), with bounded examples:
no server error, every answer as documented, invalid input refused with a 4xx."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from .conftest import LiveServer


@pytest.mark.allow_blocking
@pytest.mark.timeout(240)
def test_the_api_keeps_its_contract(live: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    checked = 0
    for found in schema.get_all_operations():
        operation = found.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=live.url, timeout=30)

        check()
        checked += 1
    assert checked == 16  # every operation of the document was exercised


def test_the_document_names_every_route(live: LiveServer) -> None:
    document = httpx.get(f"{live.url}/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    for path in (
        "/v1/agents",
        "/v1/runs",
        "/v1/runs/{run_id}",
        "/v1/runs/{run_id}/events",
        "/v1/runs/{run_id}/approvals",
        "/v1/runs/{run_id}/inputs",
        "/v1/runs/{run_id}/deferred",
        "/v1/runs/{run_id}/cancel",
        "/v1/runs/{run_id}/resume",
        "/v1/threads/{thread_id}",
        "/v1/models",
        "/v1/chat/completions",
        "/v1/responses",
        "/v1/ag-ui/{agent}",
        "/healthz",
        "/metrics",
    ):
        assert path in document["paths"], path
    run_body = document["components"]["schemas"]["RunBody"]
    assert run_body["additionalProperties"] is False
