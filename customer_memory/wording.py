"""Phrases an agent can say out loud: tenure in words, "12 minutes ago", what a contact was."""

from datetime import date, datetime

from django.utils.timesince import timesince

_NUMBER_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty"
).split()

# What the customer did, by channel and direction, as it reads after "You …".
_CONTACT_VERBS = {
    ("chat", "inbound"): "chatted with us",
    ("chat", "outbound"): "chatted with us",
    ("voice", "inbound"): "called us",
    ("voice", "outbound"): "spoke with us when we called you",
    ("email", "inbound"): "emailed us",
    ("email", "outbound"): "received an email from us",
    ("web", "inbound"): "visited our website",
}


def number_in_words(number: int) -> str:
    return _NUMBER_WORDS[number] if 0 <= number < len(_NUMBER_WORDS) else str(number)


def whole_years_between(start: date, end: date) -> int:
    return end.year - start.year - ((end.month, end.day) < (start.month, start.day))


def tenure_text(since: date, today: date) -> str:
    """Tenure as said aloud: "customer for 10 years", "customer for 3 months", "new customer"."""
    years = whole_years_between(since, today)
    if years >= 1:
        return f"customer for {years} year{'s' if years != 1 else ''}"
    months = (today.year - since.year) * 12 + today.month - since.month - (today.day < since.day)
    if months >= 1:
        return f"customer for {months} month{'s' if months != 1 else ''}"
    return "new customer"


def time_ago(moment: datetime, now: datetime) -> str:
    """How long ago, largest unit only, as people say it: "12 minutes ago", "3 days ago", "just now"."""
    if (now - moment).total_seconds() < 60:
        return "just now"
    return f"{timesince(moment, now, depth=1)} ago".replace("\xa0", " ")


def contact_verb(channel: str, direction: str) -> str:
    return _CONTACT_VERBS.get((channel, direction), f"contacted us by {channel}")
