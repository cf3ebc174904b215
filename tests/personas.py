"""Named people and systems the tests use, with their roles.

- miles: ten-year customer; chats about a failed card payment, then calls from the same number.
- ada: a newer customer reachable only by email.
- desk: the agent desktop, reads cards and timelines.
- helpdesk: a channel system allowed only to send events.
"""

MILES_PHONE_NATIONAL = "(415) 555-0100"
MILES_PHONE_INTERNATIONAL = "+1 415 555 0100"
MILES_PHONE_E164 = "+14155550100"
MILES_EMAIL = "Miles@Example.com"


def miles_chat(external_id="chat-1", occurred_at="2026-11-23T09:30:00Z", **overrides):
    event = {
        "source": "helpdesk",
        "external_id": external_id,
        "channel": "chat",
        "type": "conversation",
        "direction": "inbound",
        "occurred_at": occurred_at,
        "customer": {
            "phone": MILES_PHONE_NATIONAL,
            "email": MILES_EMAIL,
            "name": "Miles Reed",
            "first_name": "Miles",
            "customer_since": "2015-04-02",
        },
        "summary": "Card payment failed; asked to call the voice line",
        "case": {"external_id": "T-9", "title": "Card payment failed", "status": "open"},
        "agent": {"external_id": "ag-5", "name": "Priya"},
    }
    event.update(overrides)
    return event


def miles_call(external_id="call-1", occurred_at="2026-11-23T09:45:00Z", **overrides):
    event = {
        "source": "pbx",
        "external_id": external_id,
        "channel": "voice",
        "direction": "inbound",
        "occurred_at": occurred_at,
        "customer": {"phone": MILES_PHONE_INTERNATIONAL},
        "summary": "Called about the failed card payment",
    }
    event.update(overrides)
    return event


def ada_email(external_id="mail-1", occurred_at="2026-11-20T12:00:00Z", **overrides):
    event = {
        "source": "mailbox",
        "external_id": external_id,
        "channel": "email",
        "occurred_at": occurred_at,
        "customer": {"email": "ada@example.org", "name": "Ada Byron"},
        "summary": "Question about my invoice",
    }
    event.update(overrides)
    return event
