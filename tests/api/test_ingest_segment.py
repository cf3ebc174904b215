import gzip
import json

import pytest

from channels_ingest.models import RawEvent
from customer_memory.models import Customer, Identifier, Trait
from interactions.models import Interaction
from tests.channels import fixture_json

pytestmark = pytest.mark.django_db
SEGMENT = "/api/v1/ingest/segment/v1"


def test_an_sdk_batch_is_answered_200_success_and_lands_on_one_customer(channel):
    body = fixture_json("segment/batch_analytics_js.json")

    response = channel.post(f"{SEGMENT}/batch", body, format="json")

    assert response.status_code == 200 and response.json() == {"success": True}
    assert RawEvent.objects.filter(source="website", format="segment", status="processed").count() == 4
    customer = Customer.objects.get()
    assert customer.name == "Miles Reed" and str(customer.customer_since) == "2015-04-02"
    assert sorted(Interaction.objects.values_list("type", flat=True)) == ["page", "track"]
    assert Trait.objects.filter(name="group", source="website").exists()
    # The write key is a secret: it is not kept with the stored messages.
    assert not any("writeKey" in event.payload for event in RawEvent.objects.all())


def test_resending_a_batch_stores_nothing_new(channel):
    body = fixture_json("segment/batch_analytics_js.json")
    channel.post(f"{SEGMENT}/batch", body, format="json")

    again = channel.post(f"{SEGMENT}/batch", body, format="json")

    assert again.status_code == 200
    assert RawEvent.objects.count() == 4 and Interaction.objects.count() == 2


def test_the_write_key_may_come_in_the_body_instead(channel, anonymous):
    body = {**fixture_json("segment/batch_analytics_js.json"), "writeKey": channel.token}

    response = anonymous.post(f"{SEGMENT}/batch", json.dumps(body), content_type="text/plain")

    assert response.status_code == 200
    assert RawEvent.objects.filter(source="website").count() == 4


def test_a_client_source_name_files_its_events_under_it(channel):
    channel.api_client.source = "web-eu"
    channel.api_client.save()
    channel.post(f"{SEGMENT}/track", {"userId": "u-1", "event": "Signed In", "messageId": "m-1"}, format="json")
    assert RawEvent.objects.get().source == "web-eu"


def test_single_message_endpoints_take_the_type_from_the_path(channel):
    response = channel.post(f"{SEGMENT}/page", {"anonymousId": "anon-1", "name": "Pricing"}, format="json")
    assert response.status_code == 200
    assert Interaction.objects.get().summary == "Viewed page: Pricing"


def test_alias_joins_the_anonymous_visitor_to_the_signed_in_user(channel):
    channel.post(f"{SEGMENT}/page", {"anonymousId": "anon-1", "name": "Pricing", "messageId": "p1"}, format="json")
    channel.post(f"{SEGMENT}/identify", {"userId": "user-9", "traits": {"email": "z@example.com"}}, format="json")
    assert Customer.objects.live().count() == 2

    channel.post(f"{SEGMENT}/alias", {"previousId": "anon-1", "userId": "user-9"}, format="json")

    assert Customer.objects.live().count() == 1
    assert Identifier.objects.get(kind="anonymous_id", value="anon-1").customer.identifiers.filter(
        kind="email", value="z@example.com"
    )


def test_a_gzip_body_is_read(channel):
    body = gzip.compress(json.dumps({"userId": "u-1", "event": "Signed In"}).encode())
    response = channel.post(f"{SEGMENT}/track", body, content_type="application/json", HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 200
    assert RawEvent.objects.count() == 1


def test_an_event_over_32_kb_is_a_400_naming_the_limit_and_stores_nothing(channel):
    big = {"userId": "u-1", "event": "Big", "properties": {"blob": "x" * 33_000}}
    response = channel.post(f"{SEGMENT}/track", big, format="json")
    assert response.status_code == 400
    assert "32 KB limit for one event" in response.json()["detail"]
    assert RawEvent.objects.count() == 0


def test_an_event_over_32_kb_inside_a_batch_is_refused_with_the_batch(channel):
    batch = {
        "batch": [
            {"type": "track", "userId": "u", "event": "ok"},
            {"type": "track", "userId": "u", "event": "x" * 33_000},
        ]
    }
    response = channel.post(f"{SEGMENT}/batch", batch, format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("batch[1]: over Segment's 32 KB limit")
    assert RawEvent.objects.count() == 0


def test_a_batch_over_500_kb_is_a_400_naming_the_limit(channel):
    batch = {"batch": [{"type": "track", "userId": "u", "event": "e", "properties": {"p": "x" * 30_000}}] * 18}
    response = channel.post(f"{SEGMENT}/batch", batch, format="json")
    assert response.status_code == 400
    assert "500 KB limit for a batch" in response.json()["detail"]
    assert RawEvent.objects.count() == 0


def test_one_bad_message_refuses_the_batch_naming_it(channel):
    batch = {"batch": [{"type": "track", "userId": "u", "event": "ok"}, {"type": "track", "event": "no id"}]}
    response = channel.post(f"{SEGMENT}/batch", batch, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "event 1: userId or anonymousId: one is required"
    assert RawEvent.objects.count() == 0


def test_a_wrong_write_key_is_a_401_with_a_basic_challenge(anonymous):
    anonymous.credentials(HTTP_AUTHORIZATION="Basic " + "d3Jvbmc6")  # "wrong:"
    response = anonymous.post(f"{SEGMENT}/track", {"userId": "u", "event": "e"}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")
    assert RawEvent.objects.count() == 0


def test_not_json_is_a_400(channel):
    response = channel.post(f"{SEGMENT}/track", b"{not json", content_type="application/json")
    assert response.status_code == 400 and "not JSON" in response.json()["detail"]


@pytest.mark.parametrize("kind", ["track", "batch"])
def test_a_lone_surrogate_or_nul_in_a_message_is_a_400_naming_it(channel, kind):
    message = '{"type": "track", "userId": "u", "event": "bad \\ud800 text"}'
    body = message if kind == "track" else f'{{"batch": [{message}]}}'
    response = channel.post(f"{SEGMENT}/{kind}", body, content_type="application/json")
    assert response.status_code == 400
    assert "lone UTF-16 surrogate" in response.json()["detail"]
    assert RawEvent.objects.count() == 0
