import pytest

from channels_ingest.normalizers import NormalizationError
from channels_ingest.normalizers.email import mime_payload, normalize, normalize_inbound, strip_quoted
from tests.channels import ARRIVAL, delivery, fixture_bytes


@pytest.fixture(autouse=True)
def company_domains(settings):
    settings.EMAIL_COMPANY_DOMAINS = ["bank.example"]


def mail(name: str):
    return normalize(mime_payload(fixture_bytes(f"email/{name}.eml")), delivery("mailbox"))


def test_a_customers_email_is_keyed_by_message_id_and_opens_a_case_named_after_it():
    event = mail("customer_first")
    assert event.external_id == "CAF1miles-first@mail.example.com" and event.channel == "email"
    assert event.direction == "inbound" and not event.automated
    assert [(i.kind, i.value) for i in event.identifiers] == [("email", "miles@example.com")]
    assert event.traits == {"name": "Miles Reed"}
    assert event.case.external_id == "CAF1miles-first@mail.example.com" and event.case.status == "open"
    assert event.case.title == "Card payment failed"
    # The signature after "-- " stays out of the summary.
    assert event.summary.startswith("Card payment failed — Hello, My card payment at Cafe Leith failed")
    assert "+1 415 555 0100" not in event.summary


def test_a_reply_threads_to_the_first_message_and_leaves_the_quoted_history_out():
    event = mail("customer_reply")
    assert event.case.external_id == "CAF1miles-first@mail.example.com"
    assert event.summary == "Re: Card payment failed — It happened again today, same cafe. Can someone call me back?"
    assert event.replies_to == ["reply-from-bank@bank.example", "CAF1miles-first@mail.example.com"]
    assert event.traits == {"name": "Miles Reed"}  # "Reed, Miles" as a directory writes it
    # The Cc'd person is a participant, not an identifier of this customer.
    assert [i.value for i in event.identifiers] == ["miles@example.com"]
    assert event.attributes["cc"] == ["Jo Reed <jo.reed@example.com>"]


def test_our_own_reply_is_outbound_to_the_customer_and_keeps_the_case_status():
    event = mail("outbound_from_company")
    assert event.direction == "outbound"
    assert [i.value for i in event.identifiers] == ["miles@example.com"]
    assert event.case.status == "" and event.traits == {}


def test_html_only_mail_in_latin_1_with_encoded_headers_becomes_text():
    event = mail("html_only_latin1")
    assert event.case.title == "Réclamation carte bloquée"
    assert event.traits == {"name": "Zoë Dupont"}
    assert (
        event.summary
        == "Réclamation carte bloquée — Bonjour, Ma carte est bloquée depuis hier. Pouvez-vous m'aider ? Zoë"
    )
    assert "alert" not in event.attributes["text"] and "color" not in event.attributes["text"]


def test_attachments_are_listed_not_inlined():
    event = mail("with_attachments")
    assert event.attributes["attachments"] == [
        {"name": "statement-2026-10.pdf", "type": "application/pdf", "size": 3016},
        {"name": "capture écran.png", "type": "image/png", "size": 508},
    ]
    assert event.summary == "My statement is wrong — Please see the attached statement: the fee on line 3 is wrong."


def test_an_auto_reply_is_marked_automated_and_opens_no_case():
    event = mail("auto_reply")
    assert event.automated and event.attributes["automated"] == "auto-reply"
    assert event.case is None and event.replies_to == ["reply-from-bank@bank.example"]


def test_a_bounce_is_filed_under_the_address_that_failed():
    event = mail("bounce")
    assert event.automated and event.attributes["automated"] == "bounce"
    assert [i.value for i in event.identifiers] == ["old.miles@example.net"]
    assert event.replies_to == ["to-old-address@bank.example"]


def test_8_bit_mail_without_message_id_is_keyed_by_its_bytes_and_decoded_in_its_charset():
    raw = fixture_bytes("email/no_message_id_8bit.eml")
    payload = mime_payload(raw)
    assert "mime_base64" in payload
    event = normalize(payload, delivery())
    assert event.external_id.startswith("sha256:")
    assert event.summary == "Opening hours — Are you open on Saturday? I’d like to pay €200 in."


def test_a_missing_or_future_date_reads_as_the_arrival_time():
    raw = b"From: a@example.com\r\nTo: help@bank.example\r\nDate: Fri, 01 Jan 2100 00:00:00 +0000\r\n\r\nhi"
    assert normalize(mime_payload(raw), delivery()).occurred_at == ARRIVAL


def test_mail_between_our_own_addresses_has_no_customer():
    raw = b"From: a@bank.example\r\nTo: b@bank.example\r\nSubject: lunch\r\n\r\nhi"
    with pytest.raises(NormalizationError, match="no customer address"):
        normalize(mime_payload(raw), delivery())


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Yes please.\n\nOn Sat, 21 Nov 2026 at 11:00, Bank <help@bank.example> wrote:\n> old", "Yes please."),
        ("Thanks\n\n-----Original Message-----\nFrom: Bank\nSent: Friday\n", "Thanks"),
        ("Thanks\n\nFrom: Bank Help <help@bank.example>\nSent: Saturday, 21 November 2026 11:00\nTo: Miles", "Thanks"),
        ("Merci\n\nLe sam. 21 nov. 2026 à 11:00, Bank <help@bank.example> a écrit :\n> ancien", "Merci"),
        ("Fine\n-- \nMiles Reed\nCEO", "Fine"),
        ("line one\n> quoted\nline two", "line one\nline two"),
    ],
)
def test_quoted_history_and_signatures_are_stripped(text, expected):
    assert strip_quoted(text) == expected


def test_a_sendgrid_parsed_form_is_normalized_like_the_raw_message():
    form = {
        "headers": "From: Miles Reed <miles@example.com>\nTo: help@bank.example\nSubject: Card payment failed\n"
        "Message-ID: <sg-1@mail.example.com>\nDate: Sat, 21 Nov 2026 10:30:00 +0000\n",
        "from": "Miles Reed <miles@example.com>",
        "to": "help@bank.example",
        "subject": "Card payment failed",
        "text": "My card failed.\n\nOn Sat, Bank wrote:\n> old",
        "html": "<p>My card failed.</p>",
    }
    event = normalize_inbound(
        {"fields": form, "attachments": [{"name": "a.pdf", "type": "application/pdf", "size": 10}]}, delivery()
    )
    assert event.external_id == "sg-1@mail.example.com"
    assert event.summary == "Card payment failed — My card failed."
    assert event.attributes["attachments"][0]["name"] == "a.pdf"


def test_a_mailgun_form_with_message_headers_is_normalized():
    form = {
        "message-headers": '[["From", "Ada Byron <ada@example.org>"], ["To", "help@bank.example"], '
        '["Subject", "Invoice"], ["Message-Id", "<mg-1@example.org>"], ["In-Reply-To", "<x@bank.example>"]]',
        "body-html": "<div>Where is my <b>invoice</b>?</div>",
        "from": "Ada Byron <ada@example.org>",
    }
    event = normalize_inbound({"fields": form, "attachments": []}, delivery())
    assert event.external_id == "mg-1@example.org" and event.case.external_id == "x@bank.example"
    assert event.summary == "Invoice — Where is my invoice?"


def test_an_inbound_form_with_a_short_header_block_takes_the_sender_from_its_fields():
    form = {
        "headers": "Message-ID: <abc@mail.example.com>\nSubject: =?iso-8859-1?Q?Carte_bloqu=E9e?=",
        "from": "Miles Reed <miles@example.com>",
        "to": "help@bank.example",
        "text": "It failed again.",
    }
    event = normalize_inbound({"fields": form, "attachments": []}, delivery())
    assert [i.value for i in event.identifiers] == ["miles@example.com"]
    assert event.summary == "Carte bloquée — It failed again."


def test_an_inbound_form_without_any_sender_names_it():
    with pytest.raises(NormalizationError, match="From: no sender address"):
        normalize_inbound({"fields": {"headers": "Subject: hi", "text": "x"}, "attachments": []}, delivery())
