"""Phrases an agent can say out loud: tenure in words, "12 minutes ago", what a contact was."""

from datetime import date, datetime

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


# Units of "… ago", largest first, as timesince counts them (a month is 30 days, a year 365).
_UNITS = (
    ("year", 365 * 86400),
    ("month", 30 * 86400),
    ("week", 7 * 86400),
    ("day", 86400),
    ("hour", 3600),
    ("minute", 60),
)


def _span(seconds: float) -> str:
    """The largest whole unit in a span: "12 minutes", "1 hour", "3 days". Hand-written rather than
    Django's timesince: the card words a dozen moments per read, and timesince translates each one."""
    for unit, size in _UNITS:
        count = int(seconds // size)
        if count >= 1:
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return "0 minutes"


def time_ago(moment: datetime, now: datetime) -> str:
    """How long ago, largest unit only, as people say it: "12 minutes ago", "3 days ago", "just now"."""
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return "just now"
    return f"{_span(seconds)} ago"


def contact_verb(channel: str, direction: str) -> str:
    return _CONTACT_VERBS.get((channel, direction), f"contacted us by {channel}")


def time_until(moment: datetime, now: datetime) -> str:
    """How far ahead, as people say it: "in 2 hours", "in 3 days"; a past moment reads as time_ago."""
    if moment <= now:
        return time_ago(moment, now)
    seconds = (moment - now).total_seconds()
    return "in a minute" if seconds < 60 else f"in {_span(seconds)}"


def topic(text: str) -> str:
    """A title or summary as it reads inside a sentence: first clause, no trailing stop, a leading capital
    lowered unless the word looks like a name or acronym ("Card payment failed" -> "card payment failed")."""
    first = text.strip().split(";")[0].split("\n")[0].strip().rstrip(".")
    if len(first) > 1 and first[0].isupper() and first[1].islower():
        first = first[0].lower() + first[1:]
    return first


def years_in_words(years: int) -> str:
    return f"{number_in_words(years)} year{'s' if years != 1 else ''}"


def join_words(items: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"
