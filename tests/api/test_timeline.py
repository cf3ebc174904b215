"""GET /api/v1/customers/{id}/timeline: the unified timeline, filtered and cursor-paginated."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.filtersets import InteractionFilterSet
from interactions.models import Case, Interaction
from tests.personas import ada_email, miles_call, miles_chat, miles_history

pytestmark = pytest.mark.django_db


@pytest.fixture
def miles(ingest):
    """miles with four contacts on four channels (see personas.miles_history), and ada on the side."""
    ingest(*miles_history())
    ingest(ada_email())
    return Interaction.objects.get(source="helpdesk", external_id="chat-1").customer


def timeline_url(customer_id):
    return f"/api/v1/customers/{customer_id}/timeline"


def external_ids(response):
    assert response.status_code == 200, response.content
    return [item["external_id"] for item in response.json()["results"]]


def test_the_timeline_lists_every_channel_newest_first(desk, miles):
    response = desk.get(timeline_url(miles.id))

    assert external_ids(response) == ["call-1", "chat-1", "mail-miles-1", "page-1"]
    chat = response.json()["results"][1]
    assert chat["channel"] == "chat"
    assert chat["agent"]["name"] == "Priya"
    assert chat["case_id"] == str(Case.objects.get(external_id="T-9").id)


def test_the_timeline_filters_by_one_channel(desk, miles):
    assert external_ids(desk.get(timeline_url(miles.id), {"channel": "email"})) == ["mail-miles-1"]


def test_the_timeline_filters_by_several_channels(desk, miles):
    response = desk.get(f"{timeline_url(miles.id)}?channel=chat&channel=voice")

    assert external_ids(response) == ["call-1", "chat-1"]


def test_the_timeline_filters_by_since_inclusive(desk, miles):
    response = desk.get(timeline_url(miles.id), {"since": "2026-11-23T09:30:00Z"})

    assert external_ids(response) == ["call-1", "chat-1"]


def test_the_timeline_filters_by_until_exclusive(desk, miles):
    response = desk.get(timeline_url(miles.id), {"until": "2026-11-23T09:30:00Z"})

    assert external_ids(response) == ["mail-miles-1", "page-1"]


def test_the_timeline_filters_by_a_time_window(desk, miles):
    response = desk.get(timeline_url(miles.id), {"since": "2026-11-22T00:00:00Z", "until": "2026-11-23T09:40:00Z"})

    assert external_ids(response) == ["chat-1", "mail-miles-1"]


def test_the_timeline_filters_by_case(desk, miles):
    case = Case.objects.get(external_id="T-8")

    assert external_ids(desk.get(timeline_url(miles.id), {"case": str(case.id)})) == ["mail-miles-1"]


def test_the_timeline_filters_by_direction(desk, miles):
    assert external_ids(desk.get(timeline_url(miles.id), {"direction": "outbound"})) == ["mail-miles-1"]


@pytest.mark.parametrize(
    "query, field",
    [
        ({"channel": "fax"}, "channel"),
        ({"since": "notadate"}, "since"),
        ({"until": "tomorrow"}, "until"),
        ({"case": "T-9"}, "case"),
        ({"direction": "sideways"}, "direction"),
    ],
)
def test_an_invalid_filter_value_is_a_400_naming_the_filter(desk, miles, query, field):
    response = desk.get(timeline_url(miles.id), query)

    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"{field}:")


def test_the_cursor_walks_the_whole_timeline_without_repeats(desk, ingest, miles):
    # Two more contacts at the same instant as the chat: ties must not repeat or vanish across pages.
    ingest(
        miles_call(external_id="call-2", occurred_at="2026-11-23T09:30:00Z"),
        miles_call(external_id="call-3", occurred_at="2026-11-23T09:30:00Z"),
    )
    seen, pages = [], 0
    url = f"{timeline_url(miles.id)}?limit=2"
    while url:
        body = desk.get(url).json()
        assert len(body["results"]) <= 2
        seen += [item["id"] for item in body["results"]]
        url, pages = body["next"], pages + 1

    expected = Interaction.objects.filter(customer=miles).order_by("-occurred_at", "-id")
    assert seen == [str(pk) for pk in expected.values_list("id", flat=True)]
    assert len(seen) == len(set(seen)) == 6
    assert pages == 3


def test_the_cursor_keeps_the_filters(desk, ingest, miles):
    ingest(miles_call(external_id="call-2", occurred_at="2026-11-23T10:00:00Z"))
    first = desk.get(f"{timeline_url(miles.id)}?channel=voice&channel=web&limit=2").json()

    second = desk.get(first["next"]).json()

    assert [i["external_id"] for i in first["results"] + second["results"]] == ["call-2", "call-1", "page-1"]
    assert second["next"] is None


def test_the_timeline_costs_the_same_queries_for_a_long_history(desk, ingest):
    ingest(miles_chat())
    miles = Interaction.objects.get().customer
    with CaptureQueriesContext(connection) as short:
        desk.get(timeline_url(miles.id))
    ingest(
        *(
            miles_call(external_id=f"call-{n}", agent={"external_id": f"ag-{n}", "name": f"Agent {n}"})
            for n in range(10)
        )
    )
    with CaptureQueriesContext(connection) as long:
        response = desk.get(timeline_url(miles.id))

    assert len(response.json()["results"]) == 11
    # Not counting the token check: a client's first request checks it in the database, later ones in process.
    without_token = [q for q in short.captured_queries if '"api_apiclient"' not in q["sql"]]
    assert len(long) == len(without_token)


def test_an_unknown_customer_has_no_timeline(desk):
    response = desk.get(timeline_url(uuid.uuid4()))

    assert response.status_code == 404
    assert "no customer with id" in response.json()["detail"]


def test_a_customer_id_that_is_not_a_uuid_has_no_timeline(desk):
    assert desk.get(timeline_url("not-a-uuid")).status_code == 404


def test_an_ingest_only_client_may_not_read_timelines(helpdesk, miles):
    response = helpdesk.get(timeline_url(miles.id))

    assert response.status_code == 403
    assert "'timeline:read'" in response.json()["detail"]


def test_every_timeline_filter_has_a_label():
    # base_filters are never bound to the model, so `label` is only what the filterset declared.
    unlabeled = [name for name, declared in InteractionFilterSet.base_filters.items() if not declared.label]

    assert unlabeled == []
    assert set(InteractionFilterSet.base_filters) >= {"channel", "direction", "since", "until", "case"}


def test_the_timeline_as_text_for_a_chatbot(desk, miles):
    response = desk.get(timeline_url(miles.id), {"format": "text", "channel": ["chat", "email"]})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == (
        "Timeline of Miles Reed, newest first (times in UTC):\n"
        "- 2026-11-23 09:30 · chat · inbound · conversation: Card payment failed; asked to call the voice line "
        "[agent Priya; case “Card payment failed” (open)]\n"
        "- 2026-11-22 16:00 · email · outbound: Your new card is on its way [case “Replacement card” (resolved)]\n"
    )


def test_the_timeline_as_text_links_the_next_page(desk, miles):
    text = desk.get(timeline_url(miles.id), {"format": "text", "limit": 1}).content.decode()

    assert text.count("\n- ") == 1
    assert "Older interactions: http://testserver/api/v1/customers/" in text and "cursor=" in text
