"""/api/v1/promises: callbacks and follow-ups, with their state on the card."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customer_memory.models import Customer
from interactions.models import Agent, Case, Promise
from tests.personas import MILES_PHONE_E164, ada_email, miles_call, miles_chat

pytestmark = pytest.mark.django_db

PROMISES = "/api/v1/promises"


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def callback(ingest):
    """A callback for miles on his open case, owed by Priya in two hours."""
    ingest(miles_chat())
    return {
        "customer_id": str(Customer.objects.get().id),
        "case_id": str(Case.objects.get().id),
        "owner_agent_id": str(Agent.objects.get().id),
        "kind": "callback",
        "due_at": iso(timezone.now() + timedelta(hours=2)),
        "channel": "voice",
    }


def test_a_promise_is_recorded_and_shown_on_the_card(team_desk, desk, callback):
    response = team_desk.post(PROMISES, callback, format="json")

    assert response.status_code == 201, response.content
    promise = response.json()
    assert (promise["status"], promise["overdue"], promise["owner"]["name"]) == ("open", False, "Priya")
    card = desk.get("/api/v1/card", {"phone": MILES_PHONE_E164}).json()
    assert [p["id"] for p in card["promises"]] == [promise["id"]]
    assert desk.get(f"{PROMISES}/{promise['id']}").json()["kind"] == "callback"


def test_a_callback_made_is_kept_and_leaves_the_card(team_desk, desk, callback, ingest):
    promise_id = team_desk.post(PROMISES, callback, format="json").json()["id"]

    ingest(miles_call(external_id="callback", direction="outbound", occurred_at=iso(timezone.now())))

    promise = desk.get(f"{PROMISES}/{promise_id}").json()
    assert promise["status"] == "kept" and promise["kept_by_interaction_id"]
    assert desk.get("/api/v1/card", {"phone": MILES_PHONE_E164}).json()["promises"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"due_at": "2020-01-01T00:00:00Z"}, "due_at"),
        ({"kind": "visit"}, "kind"),
        ({"channel": "fax"}, "channel"),
        ({"customer_id": "00000000-0000-0000-0000-000000000000"}, "customer_id"),
        ({"owner_agent_id": "00000000-0000-0000-0000-000000000000"}, "owner_agent_id"),
    ],
)
def test_a_bad_promise_is_refused_and_nothing_is_stored(team_desk, callback, change, field):
    response = team_desk.post(PROMISES, {**callback, **change}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"{field}:")
    assert not Promise.objects.exists()


def test_a_promise_on_another_customers_case_is_refused(team_desk, callback, ingest):
    ingest(ada_email())
    ada = Customer.objects.get(name="Ada Byron")

    response = team_desk.post(PROMISES, {**callback, "customer_id": str(ada.id)}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == "case_id: this case belongs to another customer"


def test_a_promise_is_cancelled_with_patch(team_desk, desk, callback, django_capture_on_commit_callbacks):
    promise_id = team_desk.post(PROMISES, callback, format="json").json()["id"]
    assert len(desk.get("/api/v1/card", {"phone": MILES_PHONE_E164}).json()["promises"]) == 1  # cached

    with django_capture_on_commit_callbacks(execute=True):
        response = team_desk.patch(f"{PROMISES}/{promise_id}", {"status": "cancelled"}, format="json")

    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert desk.get("/api/v1/card", {"phone": MILES_PHONE_E164}).json()["promises"] == []


def test_supervisors_list_overdue_promises(team_desk, callback):
    late = team_desk.post(PROMISES, callback, format="json").json()["id"]
    team_desk.post(PROMISES, {**callback, "kind": "follow_up"}, format="json")
    Promise.objects.filter(pk=late).update(due_at=timezone.now() - timedelta(minutes=10))

    response = team_desk.get(PROMISES, {"overdue": "true"})

    assert response.status_code == 200
    assert [p["id"] for p in response.json()["results"]] == [late]
    assert response.json()["results"][0]["overdue"] is True


def test_a_card_reader_may_read_but_not_write_promises(desk, callback):
    assert desk.post(PROMISES, callback, format="json").status_code == 403
    assert desk.get(PROMISES).status_code == 200


@pytest.fixture
def two_promises(team_desk, callback, ingest):
    """miles's voice callback on his case (owner Priya), and ada's follow-up, due later, with no case or owner."""
    ingest(ada_email())
    ada = Customer.objects.get(name="Ada Byron")
    first = team_desk.post(PROMISES, callback, format="json").json()["id"]
    later = iso(timezone.now() + timedelta(days=2))
    second = team_desk.post(
        PROMISES, {"customer_id": str(ada.id), "kind": "follow_up", "due_at": later}, format="json"
    ).json()["id"]
    Promise.objects.filter(pk=second).update(status="kept")
    return {"miles": first, "ada": second, "callback": callback}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (lambda p: {"customer": p["callback"]["customer_id"]}, ["miles"]),
        (lambda p: {"case": p["callback"]["case_id"]}, ["miles"]),
        (lambda p: {"owner": p["callback"]["owner_agent_id"]}, ["miles"]),
        (lambda p: {"status": ["kept", "cancelled"]}, ["ada"]),
        (lambda p: {"kind": "follow_up"}, ["ada"]),
        (lambda p: {"overdue": "false"}, ["miles", "ada"]),
        (lambda p: {"due_before": iso(timezone.now() + timedelta(days=1))}, ["miles"]),
    ],
)
def test_each_promise_filter_narrows_the_list(team_desk, two_promises, params, expected):
    response = team_desk.get(PROMISES, params(two_promises))

    assert [p["id"] for p in response.json()["results"]] == [two_promises[name] for name in expected]


def test_every_promise_filter_has_a_label():
    from api.filtersets import PromiseFilterSet

    assert [name for name, declared in PromiseFilterSet.base_filters.items() if not declared.label] == []
