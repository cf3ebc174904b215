"""Reads shaped for the API: finding a customer by what a channel knows. The card is customer_memory.card."""

import functools
import uuid

from django.conf import settings

from customer_memory.choices import IdentifierKind
from customer_memory.identifiers import InvalidIdentifier, normalize_identifier
from customer_memory.models import Customer

# Card lookup parameters, in the order they are tried when a caller sends several.
LOOKUP_PARAMETERS = {
    "phone": IdentifierKind.PHONE,
    "email": IdentifierKind.EMAIL,
    "account": IdentifierKind.ACCOUNT,
    "user_id": IdentifierKind.USER_ID,
    "handle": IdentifierKind.HANDLE,
    "anonymous_id": IdentifierKind.ANONYMOUS_ID,
}


def lookup_value(kind: str, value: str) -> str | None:
    """A looked-up value normalized as ingest stores it; None when it cannot be an identifier of that kind
    (a withheld caller id, say)."""
    return _lookup_value(kind, value, settings.PHONE_DEFAULT_REGION)


# Parsing a phone number costs more than the rest of a warm card; callers repeat (the desk, a redial), and the
# result depends only on the value and the default region.
@functools.lru_cache(maxsize=20_000)
def _lookup_value(kind: str, value: str, region: str) -> str | None:
    if kind == IdentifierKind.PHONE and value.startswith(" "):
        # "?phone=+14155550100" sent unencoded arrives as " 14155550100": the space was a plus.
        value = "+" + value.lstrip()
    try:
        return normalize_identifier(kind, value)
    except InvalidIdentifier:
        return None


def customer_by_identifier(kind: str, value: str) -> Customer | None:
    """The live customer holding this identifier, normalizing `value` as ingest does; None when the
    value is unknown or cannot be an identifier of that kind."""
    normalized = lookup_value(kind, value)
    return Customer.objects.by_identifier(kind, normalized) if normalized is not None else None


def parse_uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def customer_by_id(customer_id) -> Customer | None:
    """The customer with this id, following merges to the survivor; None when there is no such id."""
    pk = parse_uuid(customer_id)
    customer = Customer.objects.filter(pk=pk).first() if pk else None
    return customer.resolved() if customer else None
