"""Evidence normalizers: one person's phone, email, name, date of birth or address written two ways
must become one comparable form.

Identifiers get a *match key* (what linking and desk lookups compare); names, dates and addresses get the
folded forms the probabilistic matcher compares and blocks on. All functions are pure.
"""

import csv
import re
import unicodedata
from datetime import date
from functools import cache
from pathlib import Path

import phonenumbers
from django.conf import settings

from customer_memory.choices import IdentifierKind

NICKNAMES_FILE = Path(__file__).with_name("nicknames.csv")


# --- phones


def phone_match_key(e164: str) -> str:
    """The key under which national variants of one phone number meet.

    - Brazil: mobiles gained a leading 9 (2012–2016); an old 8-digit mobile (first digit 6–9) gets it back.
    - Mexico: "+52 1" was the mobile prefix until 2019; it is dropped.
    - Argentina: "+54 9" marks a mobile dialled from abroad; the same line is written without it at home,
      so the key drops it (mobile and fixed lines never share subscriber digits).
    Anything else, or anything unparsable, is its own key.
    """
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    national = str(number.national_number)
    if number.country_code == 55 and len(national) == 10 and national[2] in "6789":
        national = national[:2] + "9" + national[2:]
    elif number.country_code == 52 and len(national) == 11 and national.startswith("1"):
        national = national[1:]
    elif number.country_code == 54 and len(national) == 11 and national.startswith("9"):
        national = national[1:]
    return f"+{number.country_code}{national}"


# --- email

# Providers known to ignore dots in the local part and to deliver "name+tag" to "name".
_DOTLESS_PROVIDERS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}
_PLUS_TAG_PROVIDERS = {
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "icloud.com",
    "me.com",
    "fastmail.com",
    "protonmail.com",
    "proton.me",
    "yahoo.com",
}


def email_match_key(address: str) -> str:
    """The case-folded address; with IDENTITY_EMAIL_PROVIDER_RULES on, also without the dots and +tags that
    the big mailbox providers ignore (off by default: on a shared corporate domain a +tag may be a real
    different mailbox)."""
    address = address.casefold()
    if not settings.IDENTITY_EMAIL_PROVIDER_RULES or "@" not in address:
        return address
    local, domain = address.rsplit("@", 1)
    if domain in _PLUS_TAG_PROVIDERS:
        local = local.split("+", 1)[0]
    if domain in _DOTLESS_PROVIDERS:
        local, domain = local.replace(".", ""), _DOTLESS_PROVIDERS[domain]
    return f"{local}@{domain}"


def identifier_match_key(kind: str, value: str) -> str:
    """The key an (already normalized) identifier value is stored and looked up under."""
    if kind == IdentifierKind.PHONE:
        return phone_match_key(value)
    if kind == IdentifierKind.EMAIL:
        return email_match_key(value)
    return value


# --- names

_NON_LETTERS = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r"\s+")
# Words that decorate a name without telling people apart: titles before it, and the suffixes and ordinals
# after it ("Sir Giles Loder, 2nd Baronet"). Forms put them in the name fields ("Sir" as the first name, "Bt."
# as the surname); read as names, every baronet would agree with every other.
_TITLES = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "lord", "lady", "rev", "reverend", "fr"}
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "bt", "bart", "baronet", "esq", "phd"}
_NAME_NOISE = _TITLES | _SUFFIXES | {"the", "of"}
_SURNAME_NOISE = _SUFFIXES | {"the", "of"}


def _ordinal(word: str) -> bool:
    return word[:1].isdigit()


def fold(text) -> str:
    """Lower-case ASCII letters, digits and single spaces: accents and punctuation dropped ("Zoë O'Neil"
    → "zoe oneil"); apostrophes and hyphens join, other punctuation separates."""
    if text is None:
        return ""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = text.replace("'", "").replace("’", "").replace("-", " ")
    text = _NON_LETTERS.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


@cache
def _nicknames() -> dict[str, str]:
    """Nickname → formal given name, from the data file (one formal name and its nicknames per row)."""
    table = {}
    with NICKNAMES_FILE.open(encoding="utf-8") as handle:
        for row in csv.reader(handle):
            if not row or row[0].startswith("#"):
                continue
            formal = fold(row[0])
            for nickname in row[1:]:
                table.setdefault(fold(nickname), formal)
    return table


def given_name_key(name) -> str:
    """A folded given name with common nicknames read as the formal name ("Bob", "Rob" → "robert")."""
    words = [w for w in fold(name).split(" ") if w and w not in _TITLES and not _ordinal(w)]
    first = words[0] if words else ""
    return _nicknames().get(first, first)


def surname_key(name) -> str:
    """A folded surname with spaces removed, so "Mac Donald" and "MacDonald" meet; suffixes and ordinals
    ("Jr", "2nd Baronet") dropped."""
    return "".join(w for w in fold(name).split(" ") if w not in _SURNAME_NOISE and not _ordinal(w))


def split_full_name(name) -> tuple[str, str]:
    """(given, surname) from a full name: first and last meaningful words."""
    words = [w for w in fold(name).split(" ") if w and w not in _NAME_NOISE and not _ordinal(w)]
    if not words:
        return "", ""
    if len(words) == 1:
        return words[0], ""
    return words[0], words[-1]


# --- dates, postcodes, addresses


def dob_key(value) -> str:
    """An ISO date (YYYY-MM-DD) or "" when the value is not a plausible date of birth."""
    if not value:
        return ""
    text = str(value).strip()
    if re.fullmatch(r"\d{8}", text):
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        parsed = date.fromisoformat(text[:10])
    except ValueError:
        return ""
    return parsed.isoformat()


def postcode_key(value) -> str:
    """Upper-case letters and digits only ("eh6 6qw" → "EH66QW")."""
    return re.sub(r"[^0-9A-Za-z]", "", str(value or "")).upper()


_STREET_WORDS = {
    "street": "st",
    "st": "st",
    "road": "rd",
    "rd": "rd",
    "avenue": "ave",
    "ave": "ave",
    "av": "ave",
    "place": "pl",
    "pl": "pl",
    "court": "ct",
    "ct": "ct",
    "crescent": "cres",
    "cres": "cres",
    "drive": "dr",
    "dr": "dr",
    "lane": "ln",
    "ln": "ln",
    "circuit": "cct",
    "close": "cl",
    "terrace": "tce",
    "parade": "pde",
    "highway": "hwy",
}


# The written-out street types a form or a transcription glues to the name before them ("woronorastreet").
_GLUED_STREET_WORDS = tuple(word for word, short in _STREET_WORDS.items() if len(word) >= 5 and word != short)


def _street_word(word: str) -> str:
    if word in _STREET_WORDS:
        return _STREET_WORDS[word]
    for glued in _GLUED_STREET_WORDS:
        # At least three letters of name before it, so "enclose" or "place" itself is left alone.
        if word.endswith(glued) and len(word) - len(glued) >= 3 and word[: -len(glued)].isalpha():
            return f"{word[: -len(glued)]} {_STREET_WORDS[glued]}"
    return word


def street_key(line) -> str:
    """A folded street line with the usual abbreviations read one way ("12 Harbour Street" → "12 harbour st"),
    a street type glued to its name split off ("12 harbourstreet" → "12 harbour st")."""
    return " ".join(_street_word(word) for word in fold(line).split(" ") if word)


def city_key(value) -> str:
    return fold(value)
