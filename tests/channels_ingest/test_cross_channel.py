"""What the channel adapters must show together: miles chats (giving his email), the website's identify
puts his phone next to that email, he phones from that number, emails, and later replies on the thread.
One customer, four interactions on three channels, the two emails in one case."""

from urllib.parse import parse_qsl, urlencode

import pytest

from customer_memory.models import Customer
from interactions.models import Interaction
from tests.channels import fixture_bytes, fixture_json

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def company_domains(settings):
    settings.EMAIL_COMPANY_DOMAINS = ["bank.example"]


def test_chat_identify_call_email_and_reply_make_one_customer_with_one_email_case(channel, desk):
    chat = fixture_json("chat/transcript.json")
    chat["visitor"] = {"id": "visitor-41", "name": "Miles Reed", "email": "Miles@Example.com"}  # no phone given
    identify = {"userId": "user-1001", "traits": {"email": "miles@example.com", "phone": "+1 (415) 555-0100"}}
    call = dict(parse_qsl(fixture_bytes("twilio/inbound_completed.form").decode().strip()))

    answers = [
        channel.post("/api/v1/ingest/chat", chat, format="json"),
        channel.post("/api/v1/ingest/segment/v1/identify", identify, format="json"),
        channel.post("/api/v1/ingest/voice/twilio", urlencode(call), content_type="application/x-www-form-urlencoded"),
        channel.post("/api/v1/ingest/email", fixture_bytes("email/customer_first.eml"), content_type="message/rfc822"),
        channel.post("/api/v1/ingest/email", fixture_bytes("email/customer_reply.eml"), content_type="message/rfc822"),
    ]

    assert [a.status_code for a in answers] == [202, 200, 202, 202, 202]
    miles = Customer.objects.live().get()
    interactions = Interaction.objects.filter(customer=miles).order_by("occurred_at")
    assert [i.channel for i in interactions] == ["chat", "voice", "email", "email"]
    emails = [i for i in interactions if i.channel == "email"]
    assert emails[0].case_id is not None and emails[0].case_id == emails[1].case_id
    assert {(i.kind, i.value) for i in miles.identifiers.all()} == {
        ("anonymous_id", "visitor-41"),
        ("email", "miles@example.com"),
        ("user_id", "user-1001"),
        ("phone", "+14155550100"),
    }

    card = desk.get("/api/v1/card", {"phone": "(415) 555-0100"}).json()
    assert card["customer"]["id"] == str(miles.id) and card["customer"]["name"] == "Miles Reed"
    assert [i["channel"] for i in card["recent_interactions"]] == ["email", "email", "voice", "chat"]
    assert card["last_contact"]["channel"] == "email"
    assert [c["title"] for c in card["open_cases"]] == ["Card payment failed"]
