"""Schemathesis against the local stack: every operation of docs/openapi.json, with generated
inputs, never answers 5xx and never answers what the document does not allow (status codes,
content type, headers, body schema).

Bounded and repeatable: `EXAMPLES` inputs per operation, derandomized (the same inputs every
run, so CI is stable), in one environment with room in its rate limits.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from infra.local.dev import LocalStack
from shared.domain.rate_limits import MAX_BURST, MAX_RATE, RateLimits
from tests.integration.conftest import ApiClient

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
# 49 operations: about 1,500 requests, a couple of minutes on 2 cores.
EXAMPLES = 30
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_path(DOCUMENT)


@pytest.fixture(scope="module")
def contract_client(local_stack: LocalStack) -> Iterator[ApiClient]:
    from shared.store import tenancy

    environment = tenancy.create_environment("Contract")
    tenancy.set_rate_limits(environment.id, RateLimits(rate=MAX_RATE, burst=MAX_BURST))
    _, plain_key = tenancy.create_api_key(environment.id)
    yield ApiClient(local_stack.url, plain_key, environment.id)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_honours_the_document(case: Any, contract_client: ApiClient) -> None:
    case.call_and_validate(
        base_url=contract_client.base_url,
        headers={"Authorization": f"Bearer {contract_client.api_key}"},
        checks=CHECKS,
    )
