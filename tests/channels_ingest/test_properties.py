"""Property-based: whatever a sender posts, each normalizer either returns an event or refuses it with a
NormalizationError naming the problem, and never crashes (a crash would park a customer's event as failed
for a bug of ours). Examples are bounded so that the suite stays fast."""

from urllib.parse import parse_qsl

import hypothesis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels_ingest.normalizers import DELIVERY_KEYS, NORMALIZERS, NormalizationError, NormalizedEvent
from channels_ingest.normalizers.email import mime_payload
from tests.channels import delivery, fixture_bytes, fixture_json

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=3),
    max_leaves=8,
)


def mutated(base: dict, values=json_values):
    """The fixture with one to three fields (top level or one level down) replaced by anything, or removed."""

    @st.composite
    def strategy(draw):
        payload = _copy(base)
        for _ in range(draw(st.integers(1, 3))):
            target = payload
            keys = list(target)
            nested = [k for k in keys if isinstance(target[k], dict) and target[k]]
            if nested and draw(st.booleans()):
                target = target[draw(st.sampled_from(nested))]
                keys = list(target)
            key = draw(st.sampled_from(keys)) if keys else "x"
            if draw(st.integers(0, 4)) == 0:
                target.pop(key, None)
            else:
                target[key] = draw(values)
        return payload

    return strategy()


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _normalizes_or_refuses(format: str, payload) -> None:
    try:
        DELIVERY_KEYS[format](payload)
    except NormalizationError:
        hypothesis.event("refused at the door (4xx)")
        return
    try:
        event = NORMALIZERS[format](payload, delivery())
    except NormalizationError as exc:
        hypothesis.event("stored, then failed with a reason")
        assert str(exc)
        return
    hypothesis.event("normalized")
    assert isinstance(event, NormalizedEvent) and event.identifiers
    assert NormalizedEvent.from_json(event.to_json()) == event


SEGMENT = fixture_json("segment/batch_analytics_js.json")["batch"]
TWILIO = dict(parse_qsl(fixture_bytes("twilio/inbound_completed.form").decode().strip()))


@pytest.mark.parametrize("index", range(len(SEGMENT)))
@FAST
@given(data=st.data())
def test_segment_messages_mutated_anyhow_normalize_or_are_refused(index, data):
    _normalizes_or_refuses("segment", data.draw(mutated(SEGMENT[index])))


@FAST
@given(payload=json_values)
def test_arbitrary_json_is_never_a_crash_for_any_json_format(payload):
    for format in ("segment", "connect", "chat", "canonical"):
        if format == "canonical":
            try:
                NORMALIZERS[format](payload)
            except NormalizationError:
                pass
        else:
            _normalizes_or_refuses(format, payload)


@FAST
@given(data=st.data())
def test_twilio_callbacks_mutated_anyhow_normalize_or_are_refused(data):
    _normalizes_or_refuses("twilio", data.draw(mutated(TWILIO, values=st.text(max_size=40))))


@pytest.mark.parametrize("name", ["connect/ctr_answered.json", "connect/ctr_abandoned_in_queue.json"])
@FAST
@given(data=st.data())
def test_connect_records_mutated_anyhow_normalize_or_are_refused(name, data):
    _normalizes_or_refuses("connect", data.draw(mutated(fixture_json(name))))


@pytest.mark.parametrize("name", ["chat/transcript.json"])
@FAST
@given(data=st.data())
def test_chat_events_mutated_anyhow_normalize_or_are_refused(name, data):
    _normalizes_or_refuses("chat", data.draw(mutated(fixture_json(name))))


EMAILS = [
    "customer_first",
    "customer_reply",
    "html_only_latin1",
    "with_attachments",
    "bounce",
    "auto_reply",
    "no_message_id_8bit",
]


@pytest.mark.parametrize("name", EMAILS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_raw_emails_with_bytes_cut_or_replaced_normalize_or_are_refused(name, data):
    raw = bytearray(fixture_bytes(f"email/{name}.eml"))
    for _ in range(data.draw(st.integers(1, 4))):
        start = data.draw(st.integers(0, len(raw)))
        end = data.draw(st.integers(start, min(len(raw), start + 40)))
        raw[start:end] = data.draw(
            st.binary(max_size=20) | st.sampled_from([b"\r\n", b": ", b"=?utf-8?B?", b"--", b"<"])
        )
    _normalizes_or_refuses("email", mime_payload(bytes(raw)))


@FAST
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes_as_an_email_normalize_or_are_refused(raw):
    _normalizes_or_refuses("email", mime_payload(raw))


@FAST
@given(
    fields=st.dictionaries(
        st.sampled_from(["headers", "from", "to", "text", "html", "email", "message-headers", "subject"]),
        st.text(max_size=60),
        max_size=5,
    )
)
def test_inbound_forms_of_any_fields_normalize_or_are_refused(fields):
    _normalizes_or_refuses("email_inbound", {"fields": fields, "attachments": []})
