"""Named people and systems the tests use, with their roles.

- miles: ten-year customer; chats about a failed card payment, then calls from the same number.
- ada: a newer customer reachable only by email.
- olivia: a London caller whose number a legacy PBX sends in UK national format (fails under region US).
- a withheld caller ("anonymous") and an unknown number: callers we cannot place.
- desk: the agent desktop, reads cards and timelines.
- helpdesk: a channel system allowed only to send events.
- revoked_helpdesk: a channel system whose client was deactivated; stranger: a made-up token.
- anonymous: a caller with no token at all.
- team_desk: an agent desktop that also writes agents, handovers and promises.
- agents: priya (first-line chat, seen in miles's chat events as ag-5) and dave (card payments expert,
  eight years with us, speaks English and Spanish), who takes miles's case over.
(The API clients are fixtures in tests/conftest.py.)
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


# --- More of miles's history, for the timeline: one of each channel over three days.

MILES_ACCOUNT = "A-1001"


def miles_email_reply(external_id="mail-miles-1", occurred_at="2026-11-22T16:00:00Z", **overrides):
    """Our outbound email on his card case, the day before the chat."""
    event = {
        "source": "mailbox",
        "external_id": external_id,
        "channel": "email",
        "direction": "outbound",
        "occurred_at": occurred_at,
        "customer": {"email": MILES_EMAIL},
        "summary": "Your new card is on its way",
        "case": {"external_id": "T-8", "title": "Replacement card", "status": "resolved"},
    }
    event.update(overrides)
    return event


def miles_web_visit(external_id="page-1", occurred_at="2026-11-21T08:00:00Z", **overrides):
    """A help-centre page view while logged in with his account id."""
    event = {
        "source": "website",
        "external_id": external_id,
        "channel": "web",
        "type": "page",
        "occurred_at": occurred_at,
        "customer": {"account_id": MILES_ACCOUNT, "phone": MILES_PHONE_E164},
        "summary": "Viewed: Why was my card declined?",
    }
    event.update(overrides)
    return event


def miles_history():
    """Four contacts, newest first: call, chat (case T-9), outbound email (case T-8), web visit."""
    return [miles_call(), miles_chat(), miles_email_reply(), miles_web_visit()]


# --- miles seen twice before anyone knew it was him: the app knows only his account, the shop his email.
# A later event carrying both merges the two customers; the newer one is merged away into the older.


def miles_app_login(external_id="app-1", occurred_at="2026-11-01T10:00:00Z", **overrides):
    event = {
        "source": "app",
        "external_id": external_id,
        "channel": "web",
        "type": "login",
        "occurred_at": occurred_at,
        "customer": {"account_id": MILES_ACCOUNT},
    }
    event.update(overrides)
    return event


def miles_shop_order(external_id="order-1", occurred_at="2026-11-02T10:00:00Z", **overrides):
    event = {
        "source": "shop",
        "external_id": external_id,
        "channel": "web",
        "type": "order",
        "occurred_at": occurred_at,
        "customer": {"email": MILES_EMAIL, "name": "Miles Reed"},
        "summary": "Ordered a card reader",
    }
    event.update(overrides)
    return event


def miles_account_update(external_id="crm-1", occurred_at="2026-11-03T10:00:00Z", **overrides):
    """The CRM states account and (verified) email together: the two customers above are one person."""
    event = {
        "source": "crm",
        "external_id": external_id,
        "channel": "web",
        "type": "profile",
        "occurred_at": occurred_at,
        "customer": {"account_id": MILES_ACCOUNT, "email": MILES_EMAIL, "verified": ["email"]},
    }
    event.update(overrides)
    return event


# --- Callers we cannot place.

WITHHELD_CALLER_ID = "anonymous"  # what a PBX sends when the caller withholds their number
UNKNOWN_PHONE = "+1 212 555 0199"


# --- olivia: a London caller whose number arrives in UK national format from a legacy system. With the
# default phone region US it cannot be normalized (the event fails); set to GB it can.

OLIVIA_PHONE_UK_NATIONAL = "020 7946 0000"
OLIVIA_PHONE_E164 = "+442079460000"


def olivia_legacy_call(external_id="legacy-1", occurred_at="2026-11-20T15:00:00Z"):
    return {
        "source": "legacy-pbx",
        "external_id": external_id,
        "channel": "voice",
        "occurred_at": occurred_at,
        "customer": {"phone": OLIVIA_PHONE_UK_NATIONAL, "name": "Olivia Hart"},
        "summary": "Asked about branch opening hours",
    }


# --- Agents: profiles as the agents API takes them.


def priya_profile(**overrides):
    profile = {
        "source": "helpdesk",
        "external_id": "ag-5",
        "name": "Priya",
        "started_at": "2024-02-01",
        "expertise": ["chat support"],
        "languages": ["en", "hi"],
        "personal_line": "Runs the office book club.",
    }
    profile.update(overrides)
    return profile


def dave_profile(**overrides):
    profile = {
        "source": "directory",
        "external_id": "dave",
        "name": "Dave",
        "photo_url": "https://cdn.example.com/agents/dave.jpg",
        "started_at": "2018-03-01",
        "expertise": ["card payments", "billing"],
        "languages": ["en", "es"],
        "personal_line": "Restores old bicycles at the weekend.",
    }
    profile.update(overrides)
    return profile


# --- Identity resolution: people seen on several channels without a shared identifier, and people who must
# stay apart. Each event carries a one-off web id (the contract wants an identifier; it links nothing).

ROSA = {
    "first_name": "Rosa",
    "last_name": "Díaz",
    "date_of_birth": "1985-03-14",
    "address": {"line1": "12 Harbour Street", "city": "Leith", "postcode": "EH6 6QW", "country": "GB"},
}
# grace and daniel: one household (same surname, same address), two people.
GRACE_OKAFOR = {
    "first_name": "Grace",
    "last_name": "Okafor",
    "date_of_birth": "1961-07-02",
    "address": {"line1": "4 Mill Lane", "city": "Hull", "postcode": "HU1 2AB"},
}
DANIEL_OKAFOR = {
    "first_name": "Daniel",
    "last_name": "Okafor",
    "date_of_birth": "1990-11-20",
    "address": {"line1": "4 Mill Lane", "city": "Hull", "postcode": "HU1 2AB"},
}


def person_event(external_id, person: dict, *, anonymous_id=None, occurred_at="2026-11-20T10:00:00Z", **identifiers):
    """A web event about `person` (a dict of traits) with its own anonymous id and any extra identifiers."""
    return {
        "source": "web",
        "external_id": external_id,
        "channel": "web",
        "occurred_at": occurred_at,
        "customer": {"anonymous_id": anonymous_id or f"anon-{external_id}", **person, **identifiers},
        "summary": f"visit {external_id}",
    }
