"""Segment's tracking API, so that analytics SDKs can point their host at this service unchanged."""

import json

import orjson
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from api.authentication import CHANNEL_AUTHENTICATION, SegmentWriteKeyAuthentication
from api.parsers import SegmentJSONParser
from api.scopes import Scope
from channels_ingest.choices import RawEventFormat
from channels_ingest.services import RejectedEvents, channel_events_accept

# Segment's published limits: one event 32 KB, one batch 500 KB.
EVENT_CAP = 32 * 1024
BATCH_CAP = 500 * 1024
# Batch-level fields that apply to every message of the batch lacking its own.
BATCH_DEFAULTS = ("sentAt", "context", "integrations")


def _compact_size(message) -> int:
    """Bytes of the message as compact UTF-8 JSON: orjson's output, or json's for what orjson refuses."""
    try:
        return len(orjson.dumps(message))
    except TypeError:
        # surrogatepass: a lone surrogate (refused later, by name) must not fail the measurement.
        return len(json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass"))


class SegmentIngestApi(APIView):
    """identify, track, page, screen, group, alias and batch of the Segment spec, with the ingest client's
    token as the write key (basic auth user name, or `writeKey` in the body). Answers 200
    `{"success": true}`: Segment SDKs take any other 2xx for a failure and send the batch again."""

    required_scope = Scope.INGEST_WEB
    authentication_classes = [*CHANNEL_AUTHENTICATION, SegmentWriteKeyAuthentication]
    parser_classes = [SegmentJSONParser]

    @staticmethod
    def body_cap(kwargs) -> tuple[int, str]:
        if kwargs.get("kind") == "batch":
            return BATCH_CAP, "a batch"
        return EVENT_CAP, "one event"

    @extend_schema(
        operation_id="segment_ingest",
        request=OpenApiTypes.OBJECT,
        responses={200: inline_serializer("SegmentAccepted", {"success": serializers.BooleanField()})},
        description='A Segment message (or, for `batch`, `{"batch": [...]}`). Over 32 KB per event or 500 KB '
        "per batch: 400, nothing stored. A message already received (same messageId) is not stored again.",
    )
    def post(self, request, kind):
        body = request.data
        if not isinstance(body, dict):
            return _refused("the body must be a JSON object")
        messages, error = _messages(kind, body)
        if error:
            return _refused(error)
        try:
            channel_events_accept(source=request.auth.ingest_source, format=RawEventFormat.SEGMENT, payloads=messages)
        except RejectedEvents as exc:
            return _refused(str(exc), errors=exc.errors)
        return Response({"success": True}, status=status.HTTP_200_OK)


def _messages(kind: str, body: dict) -> tuple[list, str]:
    """The messages of the request, each stored as sent (less the write key, a secret)."""
    if kind != "batch":
        message = {k: v for k, v in body.items() if k != "writeKey"}
        message["type"] = kind
        return [message], ""
    batch = body.get("batch")
    if not isinstance(batch, list) or not batch:
        return [], "batch: required, a non-empty list of messages"
    messages = []
    for index, message in enumerate(batch):
        if not isinstance(message, dict):
            return [], f"batch[{index}]: a message must be a JSON object"
        message = {k: v for k, v in message.items() if k != "writeKey"}
        for name in BATCH_DEFAULTS:
            if name in body and name not in message:
                message[name] = body[name]
        if _compact_size(message) > EVENT_CAP:
            return [], f"batch[{index}]: over Segment's 32 KB limit for one event; nothing stored"
        messages.append(message)
    return messages, ""


def _refused(detail: str, errors=None) -> Response:
    # code and message are the keys Segment's SDKs log from an error answer.
    body = {"detail": detail, "success": False, "code": "invalid_request", "message": detail}
    if errors:
        body["errors"] = errors
    return Response(body, status=status.HTTP_400_BAD_REQUEST)
