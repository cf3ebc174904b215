"""Normalization of identifier values, so that one person's phone or email written two ways is one key.

Used by the channel normalizers (what is stored) and by card lookups (what is searched): both must agree.
"""

import functools
import re
from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from email_validator import EmailNotValidError, validate_email

from customer_memory.choices import IdentifierKind


@dataclass(frozen=True)
class ObservedIdentifier:
    """An identifier as one event carried it, already normalized (E.164 phone, case-folded email, …)."""

    kind: str
    value: str
    verified: bool = False


class InvalidIdentifier(ValueError):
    """An identifier value that cannot be normalized; the message says why, for a 4xx or an event error."""


def normalize_phone(value: str, *, region: str | None = None) -> str:
    """Return the E.164 form of a phone number; numbers without a country code are read in `region`."""
    return _e164(str(value).strip(), region or settings.PHONE_DEFAULT_REGION)


# A North American number already in E.164 form, as US carriers and Twilio send it: phonenumbers gives it
# back unchanged (country code 1, whatever the region; an area code starting 2-9 leaves no national prefix
# "1" to strip; ten digits is the plan's one possible length). Checked against phonenumbers in the tests.
NANP_E164 = re.compile(r"\+1[2-9]\d{9}")


# Parsing is most of an accepted canonical event's cost (~13 µs), and the same numbers come back: a call's
# status callbacks, a customer's events in one batch, the card's lookups. The answer depends only on the text
# and the region; refusals (exceptions) are not cached.
@functools.lru_cache(maxsize=65_536)
def _e164(text: str, region: str) -> str:
    if NANP_E164.fullmatch(text):
        return text
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidIdentifier(f"{text!r} is not a phone number ({exc})") from None
    national = str(number.national_number)
    if number.country_code == 52 and len(national) == 11 and national.startswith("1"):
        # Mexico's mobile prefix "+52 1", retired in 2019, is still in old address books and CRMs.
        number.national_number = int(national[1:])
    if not phonenumbers.is_possible_number(number):
        raise InvalidIdentifier(f"{text!r} is not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(value: str) -> str:
    """Return the case-folded address; display names ("Miles <m@x.com>") are not accepted here."""
    text = str(value).strip()
    try:
        address = validate_email(text, check_deliverability=False, allow_smtputf8=True).normalized
    except EmailNotValidError as exc:
        raise InvalidIdentifier(f"{text!r} is not an email address ({exc})") from None
    # Mailbox names are case-insensitive in practice everywhere customers write to us.
    return address.casefold()


def normalize_opaque(value: str) -> str:
    """Account ids, handles and web ids are compared exactly, after trimming."""
    text = str(value).strip()
    if not text:
        raise InvalidIdentifier("empty value")
    if len(text) > 255:
        raise InvalidIdentifier("longer than 255 characters")
    if "\x00" in text:
        raise InvalidIdentifier("contains a NUL character")
    return text


_NORMALIZERS = {
    IdentifierKind.PHONE: normalize_phone,
    IdentifierKind.EMAIL: normalize_email,
    IdentifierKind.ACCOUNT: normalize_opaque,
    IdentifierKind.USER_ID: normalize_opaque,
    IdentifierKind.HANDLE: normalize_opaque,
    IdentifierKind.ANONYMOUS_ID: normalize_opaque,
}


def normalize_identifier(kind: str, value) -> str:
    """Return `value` normalized for `kind`; raise InvalidIdentifier when it cannot be."""
    if value is None:
        raise InvalidIdentifier("no value")
    try:
        normalizer = _NORMALIZERS[IdentifierKind(kind)]
    except ValueError:
        raise InvalidIdentifier(f"unknown identifier kind {kind!r}") from None
    return normalizer(value)
