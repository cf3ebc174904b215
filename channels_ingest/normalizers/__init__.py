"""One pure normalizer per wire format: `normalize(payload, delivery) -> NormalizedEvent`, registered here.

Adding a format is one new module and one line in NORMALIZERS. `delivery` (source name, arrival time) is
for formats whose payload does not say who sent it or when; the canonical format ignores it.
"""

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
    return normalizer(payload, delivery)


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
