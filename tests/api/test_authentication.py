"""Bearer tokens: checked against the database, then trusted in process for API_TOKEN_CACHE_SECONDS."""

import time

import pytest
from rest_framework.test import APIClient

from api.models import ApiClient
from api.services import api_client_create

pytestmark = pytest.mark.django_db

CARD = "/api/v1/card"


def _desk(name="desk-auth"):
    row, token = api_client_create(name=name, scopes=["card:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return row, client


def test_revoking_a_client_in_this_process_takes_effect_at_once(settings):
    settings.API_TOKEN_CACHE_SECONDS = 3600
    row, desk = _desk()
    assert desk.get(CARD, {"phone": "+14155550100"}).status_code == 200

    row.is_active = False
    row.save(update_fields=["is_active"])  # the admin's revoke: a save, seen by this process's receiver

    response = desk.get(CARD, {"phone": "+14155550100"})
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid or revoked token."


def test_a_revocation_made_elsewhere_takes_effect_within_the_token_cache_time(settings):
    settings.API_TOKEN_CACHE_SECONDS = 1
    row, desk = _desk()
    assert desk.get(CARD, {"phone": "+14155550100"}).status_code == 200
    # Another process revoked it: no signal reaches this one (update() sends none either).
    ApiClient.objects.filter(pk=row.pk).update(is_active=False)

    trusted = desk.get(CARD, {"phone": "+14155550100"}).status_code
    time.sleep(1.1)
    refused = desk.get(CARD, {"phone": "+14155550100"}).status_code

    assert (trusted, refused) == (200, 401)


def test_with_no_token_cache_every_request_checks_the_database(settings):
    settings.API_TOKEN_CACHE_SECONDS = 0
    row, desk = _desk()
    assert desk.get(CARD, {"phone": "+14155550100"}).status_code == 200
    ApiClient.objects.filter(pk=row.pk).update(is_active=False)

    assert desk.get(CARD, {"phone": "+14155550100"}).status_code == 401


def test_a_new_token_replaces_the_old_one_at_once(settings):
    settings.API_TOKEN_CACHE_SECONDS = 3600
    _, old = _desk("desk-rotated")
    assert old.get(CARD, {"phone": "+14155550100"}).status_code == 200

    _, new = _desk("desk-rotated")  # create_api_client again: a new token for the same client

    assert old.get(CARD, {"phone": "+14155550100"}).status_code == 401
    assert new.get(CARD, {"phone": "+14155550100"}).status_code == 200


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Token abc"])
def test_a_malformed_or_foreign_authorization_header_is_a_401_with_the_challenge(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get(CARD, {"phone": "+14155550100"})

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["detail"]
