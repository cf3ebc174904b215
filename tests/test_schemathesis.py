"""schemathesis against the service's own OpenAPI schema: whatever it sends, no 5xx and every answer
matches the schema. Bounded for the suite; SCHEMATHESIS_MAX_EXAMPLES=10000 for the long run."""

import json
import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from api.services import api_client_create

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "30"))


def _own_schema() -> dict:
    """The schema /api/schema/ serves, generated in process (collection runs before any token exists)."""
    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


# A raw email is bytes with no JSON schema: schemathesis is told what such bodies look like — arbitrary
# bytes, and a well-formed message now and then so the accepting path is exercised too.
_MESSAGE = (
    b"From: Miles Reed <miles@example.com>\r\nTo: help@company.example\r\nSubject: Card payment\r\n"
    b"Message-ID: <schemathesis@example.com>\r\nDate: Mon, 23 Nov 2026 09:00:00 +0000\r\n\r\nIt failed again.\r\n"
)
schemathesis.openapi.media_type("message/rfc822", st.one_of(st.just(_MESSAGE), st.binary(max_size=2000)))

schema = schemathesis.openapi.from_dict(_own_schema())
schema.app = get_wsgi_application()


@pytest.fixture
def token(db, settings):
    """A client with every scope and no practical rate limit. The app runs in this process on the test's
    database connection, so the connection must outlive each request (as under Django's test client)."""
    # Set once here, not per example: each assignment through pytest-django stacks another override.
    settings.API_THROTTLE_RATE = settings.API_THROTTLE_RATE_INGEST = "1000000/min"
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    _, token = api_client_create(name="schemathesis", scopes=["all"])
    yield token
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,
)
def test_no_input_gets_a_5xx_and_every_answer_matches_the_schema(case, token):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        # Not checked: that schema-valid input is accepted (a schema cannot say "0" is no phone number, and
        # such input rightly gets a 400) and that schema-invalid input is refused (unknown query parameters
        # are ignored, as HTTP APIs commonly do). No 5xx, and every answer matching the schema, are.
        excluded_checks=[schemathesis.checks.positive_data_acceptance, schemathesis.checks.negative_data_rejection],
    )
