"""Personal data: export everything held on a customer, erase it all, and suppress their identifiers."""

import json

import pytest
import redis
from django.apps import apps
from django.conf import settings
from django.urls import reverse

from api.models import AccessLog
from api.services import api_client_create
from channels_ingest.models import RawEvent
from channels_ingest.services import IncomingEvent, raw_event_accept, raw_event_link, raw_event_normalize
from customer_memory.models import Customer, Merge, SuppressedIdentifier, TermCount
from customer_memory.privacy import identifier_digest
from interactions.models import Interaction
from tests.personas import (
    MILES_ACCOUNT,
    MILES_EMAIL,
    MILES_PHONE_E164,
    MILES_PHONE_NATIONAL,
    ada_email,
    miles_account_update,
    miles_app_login,
    miles_call,
    miles_chat,
    miles_shop_order,
    person_event,
)

pytestmark = pytest.mark.django_db

# Everything that would identify miles or tell his story, in every form it was sent or stored in.
MILES_VALUES = [
    MILES_PHONE_E164,
    MILES_PHONE_NATIONAL,
    MILES_EMAIL,
    MILES_EMAIL.casefold(),
    MILES_ACCOUNT,
    "Miles Reed",
    "Card payment failed",
    "Ordered a card reader",
]


@pytest.fixture
def privacy(db):
    """The data-protection officer's tool: may export and erase, nothing else."""
    from rest_framework.test import APIClient

    _, token = api_client_create(name="dpo", scopes=["privacy:admin"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def miles(ingest, desk):
    """miles with a full history: two customers merged into one, a chat with a case, a call, his card and
    timeline read by the desk, and a failed event of his that never linked. ada is there too, untouched."""
    ingest(miles_app_login(), miles_shop_order(), miles_account_update(), miles_chat(), miles_call(), ada_email())
    # An event from a legacy system that cannot be normalized (a fax channel), but carries his email.
    [failed] = raw_event_accept(
        events=[IncomingEvent("legacy", "fax-1", "canonical", miles_chat(channel="fax", external_id="fax-1"))]
    )
    raw_event_normalize(raw_event_id=failed.id)
    customer = Customer.objects.live().get(identifiers__value=MILES_PHONE_E164)
    assert Merge.objects.filter(survivor=customer).exists()
    assert desk.get("/api/v1/card", {"phone": MILES_PHONE_NATIONAL}).status_code == 200
    assert desk.get(f"/api/v1/customers/{customer.id}/timeline").status_code == 200
    return customer


def _rows_mentioning(needles, *, ignore=()):
    """(model, pk, needle) for every row of every model whose stored values contain one of the needles."""
    found = []
    for model in apps.get_models():
        for row in model.objects.all():
            if (model, row.pk) in ignore:
                continue
            text = json.dumps(
                {f.attname: f.value_from_object(row) for f in model._meta.concrete_fields},
                default=str,
                ensure_ascii=False,
            )
            found += [(model.__name__, row.pk, needle) for needle in needles if needle in text]
    return found


def _cache_entries_mentioning(needles):
    r = redis.Redis.from_url(settings.REDIS_URL)
    found = []
    for key in r.scan_iter(count=1000):
        value = r.dump(key) or b""
        found += [(key, n) for n in needles if n.encode() in key or n.encode() in value]
    return found


def test_export_holds_everything_on_the_person_including_merged_away_records(privacy, miles):
    merged_away = Customer.objects.get(merged_into=miles)

    response = privacy.get(f"/api/v1/customers/{merged_away.id}/export")

    assert response.status_code == 200
    data = response.json()
    assert data["customer_id"] == str(miles.id)
    assert {c["id"] for c in data["customers"]} == {str(miles.id), str(merged_away.id)}
    assert {(i["kind"], i["value"]) for i in data["identifiers"]} == {
        ("phone", MILES_PHONE_E164),
        ("email", MILES_EMAIL.casefold()),
        ("account", MILES_ACCOUNT),
    }
    summaries = {i["summary"] for i in data["interactions"]}
    assert summaries >= {"Ordered a card reader", "Called about the failed card payment"}
    assert [c["title"] for c in data["cases"]] == ["Card payment failed"]
    assert {t["name"] for t in data["traits"]} >= {"name", "customer_since"}
    assert len(data["merges"]) == 1 and data["merges"][0]["merged_id"] == str(merged_away.id)
    # Linked events and the failed one that carries his email but belongs to nobody yet.
    assert {e["external_id"] for e in data["raw_events"]} == {
        "app-1", "order-1", "crm-1", "chat-1", "call-1", "fax-1"
    }  # fmt: skip
    assert {a["action"] for a in data["access_log"]} == {"card", "timeline"}
    assert "ada@example.org" not in response.content.decode()


def test_export_is_logged(privacy, miles):
    privacy.get(f"/api/v1/customers/{miles.id}/export")
    entry = AccessLog.objects.filter(customer_id=miles.id).first()
    assert entry.action == "export" and entry.client.name == "dpo"


def test_after_erasure_nothing_about_the_customer_is_left_in_any_table_or_cache(
    privacy, miles, django_capture_on_commit_callbacks
):
    ids = [str(c.pk) for c in Customer.objects.filter(merged_into=miles)] + [str(miles.pk)]
    ada_rows = (RawEvent.objects.filter(source="mailbox").count(), Interaction.objects.filter(source="mailbox").count())

    with django_capture_on_commit_callbacks(execute=True):
        response = privacy.delete(f"/api/v1/customers/{miles.id}")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["customer_id"] == str(miles.id) and body["suppressed_identifiers"] == 0
    assert body["erased"]["customers"] == 2 and body["erased"]["raw_events"] == 6
    assert body["erased"]["access_log"] == 2
    # Only the record that an erasure happened stays: an id that no longer leads anywhere, no personal data.
    erasure = AccessLog.objects.get(customer_id=miles.id)
    assert erasure.action == "erase"
    assert _rows_mentioning(MILES_VALUES + ids, ignore={(AccessLog, erasure.pk)}) == []
    assert _cache_entries_mentioning(MILES_VALUES + ids) == []
    # ada is untouched.
    assert (RawEvent.objects.filter(source="mailbox").count(), Interaction.objects.count()) == ada_rows
    assert Customer.objects.get().name == "Ada Byron"


def test_after_erasure_the_card_is_the_unknown_callers(privacy, desk, miles, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        privacy.delete(f"/api/v1/customers/{miles.id}")

    assert desk.get("/api/v1/card", {"phone": MILES_PHONE_NATIONAL}).json()["known"] is False
    assert desk.get(f"/api/v1/customers/{miles.id}/card").status_code == 404


def test_erasure_with_suppression_keeps_only_keyed_hashes_and_drops_later_events(privacy, helpdesk, miles):
    response = privacy.delete(f"/api/v1/customers/{miles.id}?suppress=true")
    assert response.json()["suppressed_identifiers"] == 3
    assert set(SuppressedIdentifier.objects.values_list("digest", flat=True)) == {
        identifier_digest("phone", MILES_PHONE_E164),
        identifier_digest("email", MILES_EMAIL.casefold()),
        identifier_digest("account", MILES_ACCOUNT),
    }
    assert _rows_mentioning(MILES_VALUES) == []
    stored = RawEvent.objects.count()

    # He calls again, his number written another way, and a new event carries only his email.
    call = miles_call(external_id="call-9", customer={"phone": "+1 (415) 555-0100"})
    answer = helpdesk.post("/api/v1/events", [call, miles_shop_order("order-9"), ada_email("mail-9")], format="json")

    assert answer.status_code == 202
    first, second, third = answer.json()
    assert first == second == {"id": None, "duplicate": False, "suppressed": True}
    assert third["duplicate"] is False and third["id"]
    assert RawEvent.objects.count() == stored + 1
    assert sum(SuppressedIdentifier.objects.values_list("events_dropped", flat=True)) == 2
    assert _rows_mentioning(MILES_VALUES) == []


def test_an_event_accepted_before_the_suppression_is_dropped_at_linking(privacy, miles):
    [late] = raw_event_accept(events=[IncomingEvent("pbx", "call-late", "canonical", miles_call("call-late"))])
    raw_event_normalize(raw_event_id=late.id)
    privacy.delete(f"/api/v1/customers/{miles.id}?suppress=1")
    assert not RawEvent.objects.filter(id=late.id).exists()  # pending, but his: erased with the rest
    # A format whose identifiers the accept step could not read: stored, then normalized by a worker.
    [later] = raw_event_accept(events=[IncomingEvent("pbx", "call-later", "other-format", {"opaque": "x"})])
    RawEvent.objects.filter(id=later.id).update(normalized=_normalized_call("call-later"))

    assert raw_event_link(raw_event_id=later.id) is None

    assert not RawEvent.objects.filter(id=later.id).exists()
    assert not Customer.objects.filter(identifiers__value=MILES_PHONE_E164).exists()
    assert SuppressedIdentifier.objects.get(kind="phone").events_dropped == 1


def _normalized_call(external_id):
    from channels_ingest.normalizers import normalize_payload

    return normalize_payload("canonical", miles_call(external_id)).to_json()


def test_suppress_must_be_true_or_false(privacy, miles):
    response = privacy.delete(f"/api/v1/customers/{miles.id}?suppress=maybe")
    assert response.status_code == 400
    assert response.json()["detail"] == "suppress: must be true or false, not 'maybe'"
    assert Customer.objects.filter(pk=miles.pk).exists()


def test_an_unknown_customer_is_404_for_export_and_erasure(privacy):
    assert privacy.get("/api/v1/customers/5d0c8f6e-0000-4000-8000-000000000000/export").status_code == 404
    assert privacy.delete("/api/v1/customers/not-a-uuid").status_code == 404


@pytest.mark.parametrize("method, path", [("get", "/export"), ("delete", "")])
def test_export_and_erasure_need_the_privacy_scope(desk, helpdesk, miles, method, path):
    for client in (desk, helpdesk):
        response = getattr(client, method)(f"/api/v1/customers/{miles.id}{path}")
        assert response.status_code == 403
        assert response.json()["detail"] == "This API client lacks the 'privacy:admin' scope."
    assert Customer.objects.filter(pk=miles.pk).exists()


CUSTOMERS = reverse("admin:customer_memory_customer_changelist")


def test_the_admin_exports_selected_customers_as_json(admin_client, miles):
    response = admin_client.post(CUSTOMERS, {"action": "export_personal_data", "_selected_action": [miles.pk]})

    assert response["Content-Type"] == "application/json"
    [export] = json.loads(response.content)
    assert export["customer_id"] == str(miles.pk)
    assert AccessLog.objects.filter(customer_id=miles.pk, action="export", user__username="admin").exists()


def test_the_admin_erases_after_confirmation(admin_client, miles):
    ask = admin_client.post(CUSTOMERS, {"action": "erase_and_suppress", "_selected_action": [miles.pk]})
    assert ask.status_code == 200 and b"Yes, erase" in ask.content
    assert Customer.objects.filter(pk=miles.pk).exists()

    admin_client.post(CUSTOMERS, {"action": "erase_and_suppress", "_selected_action": [miles.pk], "confirmed": "yes"})

    assert not Customer.objects.filter(pk=miles.pk).exists()
    assert SuppressedIdentifier.objects.count() == 3
    assert _rows_mentioning(MILES_VALUES) == []


def test_erasure_takes_their_names_and_town_out_of_the_term_frequencies(privacy, miles, ingest):
    # A second Reed elsewhere shares the surname: its count must survive, less miles's share; ada is untouched.
    ingest(person_event("reed-2", {"first_name": "Olive", "last_name": "Reed", "date_of_birth": "1990-01-01"}))
    reeds_before = TermCount.objects.get(field="surname", value="reed").count
    assert TermCount.objects.filter(field="given", value="miles").exists()

    assert privacy.delete(f"/api/v1/customers/{miles.id}").status_code == 200

    assert not TermCount.objects.filter(field="given", value="miles").exists()
    assert TermCount.objects.get(field="surname", value="reed").count == 1 < reeds_before
    assert TermCount.objects.filter(field="given", value__in=["olive", "ada"]).count() == 2
