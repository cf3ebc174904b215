import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from channels_ingest.models import RawEvent
from customer_memory.models import Customer
from interactions.models import Case, Interaction
from tests.channels import fixture_bytes

pytestmark = pytest.mark.django_db
EMAIL = "/api/v1/ingest/email"
INBOUND = "/api/v1/ingest/email/inbound"
RFC822 = "message/rfc822"


@pytest.fixture(autouse=True)
def company_domains(settings):
    settings.EMAIL_COMPANY_DOMAINS = ["bank.example"]


def _send(channel, name):
    return channel.post(EMAIL, fixture_bytes(f"email/{name}.eml"), content_type=RFC822)


def test_a_thread_of_three_messages_is_one_case_on_one_customer(channel):
    for name in ("customer_first", "outbound_from_company", "customer_reply"):
        assert _send(channel, name).status_code == 202

    assert Customer.objects.count() == 1
    case = Case.objects.get()
    assert case.title == "Card payment failed" and case.status == "open" and case.channel == "email"
    assert list(case.interactions.order_by("occurred_at").values_list("direction", flat=True)) == [
        "inbound",
        "outbound",
        "inbound",
    ]


def test_a_reply_joins_the_case_of_the_message_it_answers_even_without_references(channel):
    _send(channel, "customer_first")
    _send(channel, "outbound_from_company")
    bare_reply = (
        b"From: miles@example.com\r\nTo: help@bank.example\r\nMessage-ID: <bare@example.com>\r\n"
        b"In-Reply-To: <reply-from-bank@bank.example>\r\nSubject: Re: x\r\n"
        b"Date: Sat, 21 Nov 2026 12:00:00 +0000\r\n\r\nok"
    )
    channel.post(EMAIL, bare_reply, content_type=RFC822)
    assert Case.objects.count() == 1 and Interaction.objects.filter(case__isnull=False).count() == 3


def test_the_same_message_sent_twice_is_stored_once(channel):
    first, again = _send(channel, "customer_first"), _send(channel, "customer_first")
    assert again.json() == [{"id": first.json()[0]["id"], "duplicate": True}]
    assert RawEvent.objects.count() == 1


def test_an_auto_reply_is_on_the_timeline_but_not_the_customers_last_contact(channel, desk):
    _send(channel, "customer_first")
    _send(channel, "auto_reply")

    card = desk.get("/api/v1/card", {"email": "miles@example.com"}).json()

    assert [i["summary"].split(" — ")[0] for i in card["recent_interactions"]] == [
        "Automatic reply: Card payment failed",
        "Card payment failed",
    ]
    assert card["last_contact"]["summary"].startswith("Card payment failed")
    customer_id = card["customer"]["id"]
    timeline = desk.get(f"/api/v1/customers/{customer_id}/timeline").json()["results"]
    assert [i["automated"] for i in timeline] == [True, False]


def test_the_email_route_takes_bodies_over_the_global_cap(channel, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    raw = fixture_bytes("email/with_attachments.eml")
    assert len(raw) > 1_000
    assert channel.post(EMAIL, raw, content_type=RFC822).status_code == 202
    assert Interaction.objects.get().attributes["attachments"][0]["name"] == "statement-2026-10.pdf"


def test_a_message_over_the_email_cap_is_a_413_naming_it(channel, settings):
    settings.EMAIL_INGEST_MAX_BYTES = 2_000
    response = channel.post(EMAIL, fixture_bytes("email/with_attachments.eml"), content_type=RFC822)
    assert response.status_code == 413
    assert response.json()["detail"] == "request body larger than 2000 bytes; nothing stored"
    assert RawEvent.objects.count() == 0


def test_an_empty_body_is_a_400(channel):
    response = channel.post(EMAIL, b"", content_type=RFC822)
    assert response.status_code == 400 and "empty body" in response.json()["detail"]


def test_a_sendgrid_inbound_parse_post_with_an_attachment(channel):
    response = channel.post(
        INBOUND,
        {
            "headers": "From: Ada Byron <ada@example.org>\r\nTo: help@bank.example\r\nSubject: Statement\r\n"
            "Message-ID: <sg-ada-1@example.org>\r\nDate: Fri, 20 Nov 2026 12:00:00 +0000",
            "from": "Ada Byron <ada@example.org>",
            "to": "help@bank.example",
            "subject": "Statement",
            "text": "Fee on line 3 is wrong.",
            "charsets": '{"text": "utf-8", "subject": "utf-8"}',
            "attachments": "1",
            "attachment1": SimpleUploadedFile("statement.pdf", b"%PDF-1.4 " + b"0" * 500, "application/pdf"),
        },
    )
    assert response.status_code == 202, response.content
    interaction = Interaction.objects.get()
    assert interaction.external_id == "sg-ada-1@example.org"
    assert interaction.summary == "Statement — Fee on line 3 is wrong."
    assert interaction.attributes["attachments"] == [{"name": "statement.pdf", "type": "application/pdf", "size": 509}]
    assert RawEvent.objects.get().payload["attachments"][0]["size"] == 509  # listed, the bytes are not kept


def test_an_inbound_parse_in_raw_mode_larger_than_the_global_cap(channel, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    raw = fixture_bytes("email/with_attachments.eml").decode()
    response = channel.post(INBOUND, {"email": raw, "to": "help@bank.example", "from": "ada@example.org"})
    assert response.status_code == 202
    assert Interaction.objects.get().external_id == "ada-statement-1@example.org"


def test_an_inbound_post_with_no_message_is_a_400(channel):
    response = channel.post(INBOUND, {"spam_score": "0.1"})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("no message")
    assert RawEvent.objects.count() == 0


def test_an_inbound_parse_post_whose_separate_from_field_is_not_an_address_is_not_a_500(channel):
    # Found by Hypothesis: the email package's address parser raised IndexError on "a@" (a 500).
    response = channel.post(
        INBOUND, {"headers": "Subject: Hello\r\nMessage-ID: <odd-1@example.org>", "from": "a@", "text": "Hi"}
    )
    assert response.status_code == 202, response.content
    raw_event = RawEvent.objects.get()
    assert (raw_event.status, raw_event.error) == ("failed", "From: no sender address")  # kept, reprocessable


def test_nul_bytes_in_a_raw_messages_headers_are_stored_and_linked_not_a_500(channel):
    # Broken mailers do send NUL: in a Message-ID it must not become a key PostgreSQL cannot store, and
    # in a subject or a name it must not stop the message reaching the timeline.
    raw = (
        b"From: Miles \x00Dyson <miles@example.com>\r\nTo: help@bank.example\r\n"
        b"Message-ID: <nul\x00id@example.com>\r\nReferences: <root\x00@example.com>\r\n"
        b"Subject: Card\x00 declined\r\nDate: Sat, 21 Nov 2026 12:00:00 +0000\r\n\r\nhello\x00there"
    )
    response = channel.post(EMAIL, raw, content_type=RFC822)

    assert response.status_code == 202, response.content
    event = RawEvent.objects.get()
    assert "\x00" not in event.external_id
    assert event.status == "processed", event.error
    assert Customer.objects.get().identifiers.filter(value="miles@example.com").exists()
    assert "\x00" not in Interaction.objects.get().summary
