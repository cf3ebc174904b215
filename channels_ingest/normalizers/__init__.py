"""One pure normalizer per wire format: `normalize(payload, delivery) -> NormalizedEvent`, registered here.

Adding a format is one new module and one line in NORMALIZERS. `delivery` (source name, arrival time) is
for formats whose payload does not say who sent it or when; the canonical format ignores it.
"""

import json
import re

import orjson

from channels_ingest.choices import RawEventFormat
from channels_ingest.normalizers import canonical, chat, connect, email, segment, twilio
from channels_ingest.normalizers.event import Delivery, NormalizationError, NormalizedEvent

NORMALIZERS = {
    RawEventFormat.CANONICAL: canonical.normalize,
    RawEventFormat.SEGMENT: segment.normalize,
    RawEventFormat.TWILIO: twilio.normalize,
    RawEventFormat.CONNECT: connect.normalize,
    RawEventFormat.EMAIL: email.normalize,
    RawEventFormat.EMAIL_INBOUND: email.normalize_inbound,
    RawEventFormat.CHAT: chat.normalize,
}
LONE_SURROGATE = re.compile("[\ud800-\udfff]")

# Per channel format: the delivery key of a payload (what a resend is recognised by), raising
# NormalizationError when the payload cannot be accepted at all (answered 4xx, nothing stored).
DELIVERY_KEYS = {
    RawEventFormat.SEGMENT: segment.delivery_key_checked,
    RawEventFormat.TWILIO: twilio.delivery_key,
    RawEventFormat.CONNECT: connect.delivery_key,
    RawEventFormat.EMAIL: email.delivery_key,
    RawEventFormat.EMAIL_INBOUND: email.inbound_delivery_key,
    RawEventFormat.CHAT: chat.delivery_key,
}


def delivery_key(format: str, payload) -> str:
    """The inbox key (RawEvent.external_id) of a channel payload; NormalizationError when it cannot be stored."""
    _refuse_nul_characters(payload)
    return DELIVERY_KEYS[format](payload)


def normalize_payload(format: str, payload, delivery: Delivery | None = None) -> NormalizedEvent:
    """Normalize `payload` with the normalizer of its format; raise NormalizationError when it cannot.

    `delivery` is required by every format but the canonical one (whose payload names its own source)."""
    try:
        normalizer = NORMALIZERS[format]
    except KeyError:
        raise NormalizationError(f"no normalizer for format {format!r}") from None
    _refuse_nul_characters(payload)
    if delivery is None and format != RawEventFormat.CANONICAL:
        raise NormalizationError(f"format {format!r} needs the delivery's source and time")
    return _without_nul_characters(normalizer(payload, delivery))


def _without_nul_characters(event: NormalizedEvent) -> NormalizedEvent:
    """The event with any NUL replaced by U+FFFD. A JSON payload's NUL is refused above, but a raw email
    carries its bytes in base64, and broken mailers do put NUL in a subject, a name or a body: the message
    is still the customer's, so it is kept, readable, rather than failed at the insert."""
    data = event.to_json()
    try:
        text = orjson.dumps(data)
    except TypeError:  # an integer past 64 bits in a trait
        text = json.dumps(data).encode()
    if b"\\u0000" not in text:
        return event
    return NormalizedEvent.from_json(_replace_nul(data))


def _replace_nul(value):
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {key: _replace_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace_nul(item) for item in value]
    return value


def _refuse_nul_characters(value) -> None:
    """PostgreSQL's jsonb and text cannot hold U+0000 nor a lone UTF-16 surrogate (which JSON's "\\ud800"
    escapes can carry): refuse them by name rather than fail at the insert.

    orjson writes a payload in microseconds and refuses lone surrogates, where walking it in Python costs
    ten times that: only a payload whose JSON shows an escaped NUL, or that orjson cannot write, is walked,
    to name the field."""
    try:
        text = orjson.dumps(value)
    except TypeError:  # a lone surrogate, an integer past 64 bits, a key that is not a string
        text = None
    if text is None or b"\\u0000" in text:
        _refuse_in(value)


def _refuse_in(value, path: str = "") -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise NormalizationError(f"{path or 'event'}: contains a NUL character (U+0000)")
        if LONE_SURROGATE.search(value):
            raise NormalizationError(f"{path or 'event'}: contains a lone UTF-16 surrogate, which is not text")
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_in(key, path)
            _refuse_in(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_in(item, f"{path}[{index}]")


__all__ = [
    "DELIVERY_KEYS",
    "NORMALIZERS",
    "Delivery",
    "delivery_key",
    "NormalizationError",
    "NormalizedEvent",
    "normalize_payload",
]
