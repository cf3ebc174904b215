"""What DESIGN.md marks as contract, for the tests that guard it."""

# The card's keys and those of its nested objects, as DESIGN.md fixes them. Fields may be added to the card;
# these must keep their names.
CARD_CONTRACT_KEYS = {
    "card": {
        "known",
        "customer",
        "tenure",
        "greeting",
        "open_cases",
        "recent_cases",
        "recent_interactions",
        "last_contact",
        "promises",
        "handover_notes",
        "likely_reasons",
        "details_to_confirm",
        "experience",
    },
    "customer": {"id", "name", "preferred_name", "language", "identifiers"},
    "identifier": {"kind", "value", "verified"},
    "tenure": {"since", "years", "text"},
    "case": {"id", "title", "status", "opened_at", "last_activity_at", "channel"},
    "interaction": {"id", "channel", "direction", "occurred_at", "summary", "case_id", "agent"},
    "agent": {"id", "name"},
    "last_contact": {"channel", "occurred_at", "ago", "summary"},
}
