"""Schemathesis against the service's own OpenAPI document: no 5xx, no response that breaks the schema.

The app runs in-process over an index synced from the API scenario on the
session's anvil node (so generated look-ups hit real records as well as
misses). Bounded: a few examples per operation, no shrinking; the whole run
takes well under a minute.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.app import create_app
from tests.api_helpers import catch_up, populate, settings_for
from tests.helpers import account_factory, fresh_registry

pytestmark = pytest.mark.chain


@pytest.fixture(scope="module")
def service_app(anvil_url, tmp_path_factory):
    ledger = fresh_registry(anvil_url)
    scenario = populate(ledger, account_factory(ledger))
    app = create_app(settings_for(ledger, tmp_path_factory.mktemp("schema") / "index.sqlite"), start_indexer=False)
    for statement in scenario.statements:
        app.state.service.index.add_statement(statement)
    catch_up(app)
    yield app
    app.state.service.close()


# Operations whose bodies must be a real, verifying Statement or file: a body that merely matches
# the schema ("any JSON object", "any bytes") is rightly refused with a documented 422/404, so
# schemathesis' "schema-valid data is accepted" check does not apply to them. Every other check
# (no 5xx, status codes documented, responses match their schema, content types) still runs.
# POST /v1/verify: its policy's schema is the Policy's, but the policy coerces nothing (an integer
# written 7.0, which JSON Schema calls an integer, is refused with a documented 422).
_SEMANTIC_BODIES = {"/v1/verify/statement", "/v1/statements", "/v1/verify/file", "/v1/verify"}


def test_api_conforms_to_its_openapi(service_app):
    """Every operation, positive and negative cases; any failed check raises with the case to replay.

    (Driven through Hypothesis directly: schemathesis' pytest plugin does not
    run under pytest 9 yet.)
    """
    from hypothesis import given

    # Only the JSON API: the auditors' page (api.web) has its own tests.
    schema = schemathesis.openapi.from_asgi("/openapi.json", service_app).include(
        path_regex=r"^/(v1/|healthz|readyz)"
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    modes = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
    runs = [
        (o, m) for o in operations for m in modes
        if m is modes[0] or o.definition.raw.get("parameters") or o.definition.raw.get("requestBody")
        # (nothing to break in an operation without parameters or body)
    ]
    for operation, mode in runs:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=12,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case):
            if case.operation.path in _SEMANTIC_BODIES:
                case.call_and_validate(excluded_checks=[positive_data_acceptance])
            else:
                case.call_and_validate()

        check()
