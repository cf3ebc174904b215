"""/api/schema/ and /api/docs/: the OpenAPI 3 description of the contract paths."""

import pytest
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS

pytestmark = pytest.mark.django_db

CONTRACT_PATHS = {
    "/api/v1/events": {"post"},
    "/api/v1/events/{event_id}": {"get"},
    "/api/v1/events/lookup": {"get"},
    "/api/v1/card": {"get"},
    "/api/v1/customers/{customer_id}/card": {"get"},
    "/api/v1/customers/{customer_id}/timeline": {"get"},
    "/api/v1/customers/{customer_id}/suggested-agents": {"get"},
    "/api/v1/agents": {"get", "post"},
    "/api/v1/agents/{agent_id}/introduction": {"get"},
    "/api/v1/handovers": {"post"},
    "/api/v1/promises": {"post"},
    "/api/v1/promises/{promise_id}": {"get", "patch"},
}


@pytest.fixture
def schema(desk):
    response = desk.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_the_schema_needs_a_token(anonymous):
    response = anonymous.get("/api/schema/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_the_schema_is_an_openapi_3_document(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Customer memory API"


def test_the_schema_lists_the_contract_paths_and_methods(schema):
    missing = {path: methods - set(schema["paths"].get(path, {})) for path, methods in CONTRACT_PATHS.items()}

    assert {path: methods for path, methods in missing.items() if methods} == {}


def test_the_schema_documents_the_card_lookup_parameters(schema):
    names = {p["name"] for p in schema["paths"]["/api/v1/card"]["get"]["parameters"]}

    assert names >= {"phone", "email", "account", "handle", "anonymous_id"}


def test_the_schema_documents_the_timeline_filters(schema):
    names = {p["name"] for p in schema["paths"]["/api/v1/customers/{customer_id}/timeline"]["get"]["parameters"]}

    assert names >= {"channel", "since", "until", "case", "direction", "cursor", "limit"}


def test_the_schema_says_events_are_answered_with_202(schema):
    assert "202" in schema["paths"]["/api/v1/events"]["post"]["responses"]


def test_the_schema_declares_bearer_token_authentication(schema):
    schemes = schema.get("components", {}).get("securitySchemes", {}).values()

    assert {"type": "http", "scheme": "bearer"} in [{k: s.get(k) for k in ("type", "scheme")} for s in schemes]
    assert schema["paths"]["/api/v1/card"]["get"].get("security")


def test_the_schema_generates_without_warnings_and_validates(tmp_path):
    # A warning means a part of the API the schema could not describe (an authenticator, a serializer).
    GENERATOR_STATS.reset()

    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(tmp_path / "schema.yaml"))

    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3.")


def test_the_docs_page_needs_an_admin_login(anonymous, django_user_model, client):
    assert anonymous.get("/api/docs/").status_code == 401
    django_user_model.objects.create_user("clerk", password="pw-for-tests")  # logged in, but not staff
    client.login(username="clerk", password="pw-for-tests")
    assert client.get("/api/docs/").status_code == 403


def test_the_docs_page_is_served_as_html_to_staff(admin_client):
    response = admin_client.get("/api/docs/")
    assert admin_client.get("/api/schema/").status_code == 200

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"swagger" in response.content.lower()
