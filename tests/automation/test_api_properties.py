"""Property-based tests of the automation server's API: schemathesis reads ``/openapi.json`` and
generates requests (valid, and deliberately broken) for every operation. Whatever it sends, the
server answers without a 5xx, with a JSON error naming the problem for a 4xx.

(The operations are driven through hypothesis directly: schemathesis' own pytest plugin does not
run under this pytest version.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

pytestmark = pytest.mark.stack

EXAMPLES = 30


def _operations(wired):
    schema = schemathesis.openapi.from_url(f"{wired.url}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


def test_no_generated_request_makes_the_server_fail(wired):
    operations = _operations(wired)
    assert len(operations) >= 8
    seen: dict[str, set[int]] = {}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None)  # fmt: skip
        def call(case):
            response = case.call()
            case.validate_response(response, checks=(not_a_server_error,))
            seen.setdefault(case.operation.label, set()).add(response.status_code)
            if 400 <= response.status_code < 500 and response.status_code != 405:
                content_type = (response.headers.get("content-type") or [""])[0]
                assert content_type.startswith("application/json"), response.status_code
                assert response.json().get("error")

        call()
    assert len(seen) == len(operations)  # every operation was exercised
