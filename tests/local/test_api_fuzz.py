"""The running local platform fuzzed against its OpenAPI document (schemathesis): no 5xx, every status,
content type and body as documented. Stateless (each operation alone, valid and invalid input) and
stateful (the document's links: a listed key's latest state and series). Bounded: FUZZ_EXAMPLES per
operation and FUZZ_STEPS per stateful run, so `make test` spends well under 90 s here.
"""
from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from barometer.api_spec import load
from barometer_local.auth import issue_token

FUZZ_EXAMPLES = 20
FUZZ_STEPS = 6
# What the platform promises: never a 5xx it did not document, and answers shaped as documented.
# (Not "positive data accepted": an event valid by the document is refused for an unconfigured symbol.)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SETTINGS = hypothesis.settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
                               suppress_health_check=list(HealthCheck),
                               phases=[Phase.explicit, Phase.generate])


# The document is a file in the repository; the platform it is run against comes from the `platform` fixture.
schema = schemathesis.openapi.from_dict(load())


@pytest.fixture(scope="module")
def call_kwargs(platform) -> dict:
    return {"base_url": platform.api_url, "headers": {"Authorization": f"Bearer {issue_token(platform.state_dir)}"}}


@schema.parametrize()
@SETTINGS
def test_every_operation_answers_as_documented(case, call_kwargs):
    case.call_and_validate(checks=CHECKS, **call_kwargs)


def test_linked_operations_answer_as_documented(platform, call_kwargs):
    from barometer_local.client import ApiClient

    # Given a few keys, so the links from the listing have something to follow
    client = ApiClient(platform.api_url, issue_token(platform.state_dir))
    status, _ = client.post_events([{"kind": "quote", "symbol": "AAPL", "price": 187.5, "ts": "2026-11-24T15:04:05Z"}])
    assert status == 200
    client.wait_for(lambda: client.latest("quote", "AAPL")[0] == 200, what="AAPL in LatestTable")

    class Machine(schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return call_kwargs

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS)

    Machine.run(settings=hypothesis.settings(SETTINGS, max_examples=5, stateful_step_count=FUZZ_STEPS,
                                             phases=[Phase.generate]))
