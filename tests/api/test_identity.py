"""GET /api/v1/customers/{id}/identity and POST /api/v1/merges/{id}/undo (scope identity:admin)."""

import uuid

import pytest
from rest_framework.test import APIClient

from api.services import api_client_create
from customer_memory.models import Customer, Merge
from interactions.models import Interaction
from tests.personas import MILES_ACCOUNT, ROSA, miles_account_update, miles_app_login, miles_shop_order, person_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def analyst(db):
    """An identity analyst's tool: reads identity explanations and undoes merges."""
    _, token = api_client_create(name="identity-tool", scopes=["identity:admin"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def merged_miles(ingest):
    ingest(miles_app_login(), miles_shop_order(), miles_account_update())
    return Merge.objects.get()


def test_identity_lists_identifiers_with_sources_traits_and_merge_history(analyst, ingest):
    merge = merged_miles(ingest)

    response = analyst.get(f"/api/v1/customers/{merge.survivor_id}/identity")

    assert response.status_code == 200
    body = response.json()
    assert body["customer"]["id"] == str(merge.survivor_id)
    by_kind = {i["kind"]: i for i in body["identifiers"]}
    assert by_kind["account"]["value"] == MILES_ACCOUNT and by_kind["account"]["source"] == "app"
    assert by_kind["email"]["source"] == "shop" and by_kind["email"]["verified"] is True
    assert by_kind["email"]["first_seen_at"].startswith("2026-11-02")
    assert {"name": "name", "value": "Miles Reed", "source": "shop"}.items() <= body["traits"][0].items()
    [history] = body["merges"]
    assert history["id"] == str(merge.id) and history["role"] == "survivor"
    assert history["reason"] == "shared_identifier" and history["rule"] == "join:account,email"
    assert history["actor"] == "linking" and history["raw_event_id"] == str(merge.raw_event_id)
    assert history["moved"]["interactions"] == 1
    assert body["merged_ids"] == [str(merge.merged_id)]


def test_a_merged_away_id_explains_the_survivor(analyst, ingest):
    merge = merged_miles(ingest)

    body = analyst.get(f"/api/v1/customers/{merge.merged_id}/identity").json()

    assert body["customer"]["id"] == str(merge.survivor_id) and body["requested_id"] == str(merge.merged_id)


def test_identity_needs_the_identity_admin_scope(desk, ingest):
    merge = merged_miles(ingest)

    response = desk.get(f"/api/v1/customers/{merge.survivor_id}/identity")

    assert response.status_code == 403 and "identity:admin" in response.json()["detail"]


def test_identity_of_an_unknown_customer_is_404(analyst):
    response = analyst.get(f"/api/v1/customers/{uuid.uuid4()}/identity")

    assert response.status_code == 404 and "no customer" in response.json()["detail"]


def test_undo_restores_both_cards_and_records_who(analyst, desk, ingest):
    merge = merged_miles(ingest)

    response = analyst.post(f"/api/v1/merges/{merge.id}/undo")

    assert response.status_code == 200
    assert response.json()["undone_by"] == "api:identity-tool" and response.json()["undone_at"]
    card = desk.get(f"/api/v1/customers/{merge.merged_id}/card").json()
    assert card["customer"]["id"] == str(merge.merged_id)
    assert [i["summary"] for i in card["recent_interactions"]] == ["Ordered a card reader"]
    assert Customer.objects.live().count() == 2


def test_undoing_twice_is_a_conflict(analyst, ingest):
    merge = merged_miles(ingest)
    analyst.post(f"/api/v1/merges/{merge.id}/undo")

    response = analyst.post(f"/api/v1/merges/{merge.id}/undo")

    assert response.status_code == 409 and "already undone" in response.json()["detail"]


@pytest.mark.parametrize("merge_id", ["not-a-uuid", str(uuid.uuid4())])
def test_undoing_an_unknown_merge_is_404(analyst, merge_id):
    response = analyst.post(f"/api/v1/merges/{merge_id}/undo")

    assert response.status_code == 404 and "no merge" in response.json()["detail"]


def test_undo_needs_the_identity_admin_scope(helpdesk, ingest):
    merge = merged_miles(ingest)

    response = helpdesk.post(f"/api/v1/merges/{merge.id}/undo")

    assert response.status_code == 403
    assert Merge.objects.get().undone_at is None


def test_a_weak_evidence_link_is_explained_with_its_score_and_can_be_undone(analyst, ingest):
    ingest(person_event("w-1", ROSA), person_event("w-2", ROSA))
    merge = Merge.objects.get()
    body = analyst.get(f"/api/v1/customers/{merge.survivor_id}/identity").json()
    assert body["merges"][0]["reason"] == "probabilistic" and body["merges"][0]["score"] >= 0.99
    assert body["merges"][0]["evidence"]["levels"]["surname"] == "exact"

    analyst.post(f"/api/v1/merges/{merge.id}/undo")

    assert Interaction.objects.get(external_id="w-2").customer_id == merge.merged_id
    assert Interaction.objects.get(external_id="w-1").customer_id == merge.survivor_id
