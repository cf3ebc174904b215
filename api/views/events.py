import io

import orjson
from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotAcceptable, NotFound, PermissionDenied, UnsupportedMediaType, ValidationError
from rest_framework.response import Response
from rest_framework.utils.mediatypes import media_type_matches
from rest_framework.views import APIView

from api.parsers import StrictJSONParser
from api.scopes import INGEST_CHANNEL_SCOPES, Scope
from api.serializers.events import AcceptedEventSerializer, CanonicalEventSerializer, EventStatusSerializer
from api.views.lean import JSON, LeanApiView
from channels_ingest.selectors import raw_event_by_id, raw_event_by_sender_key
from channels_ingest.services import RejectedEvents, canonical_events_accept

# `ingest`, or a channel's ingest scope: such a client may send and follow that channel's events only.
ANY_INGEST_SCOPE = (Scope.INGEST, *INGEST_CHANNEL_SCOPES)


def _refuse_other_channels(client, payloads: list) -> None:
    """403 when a client limited to some channels sends an event of another (nothing is stored).

    A payload without a valid channel is left to normalization, which answers 400 naming the problem."""
    allowed = client.ingest_channels
    if allowed == set(INGEST_CHANNEL_SCOPES.values()):
        return
    for index, payload in enumerate(payloads):
        channel = payload.get("channel") if isinstance(payload, dict) else None
        if channel in INGEST_CHANNEL_SCOPES.values() and channel not in allowed:
            raise PermissionDenied(
                f"event {index}: this API client may send only {', '.join(sorted(allowed))} events, "
                f"not {channel} (scope ingest:{channel})"
            )


def _visible_to(client, event):
    """The event, if the client may follow it: every event with `ingest`, else those of its channels."""
    if event is None or client.has_scope(Scope.INGEST) or event.channel in client.ingest_channels:
        return event
    return None


class EventIngestApi(LeanApiView):
    """Accept canonical events, one object or a list: stored durably before the answer, processed by workers.

    POST takes the lean path (api/views/lean.py): the same token, scope and throttle checks, parser and error
    answers as DRF's, without its per-request machinery, and the answer written with orjson — a single-event
    webhook is mostly per-request cost, and a 500-event answer through DRF's JSON renderer took longer than
    parsing the batch. Other methods get DRF's answers (405, OPTIONS).
    """

    required_scope = ANY_INGEST_SCOPE

    def dispatch(self, request, *args, **kwargs):
        if request.method != "POST":
            return APIView.dispatch(self, request, *args, **kwargs)
        self.args, self.kwargs, self.request = args, kwargs, request
        try:
            _refuse_unacceptable(request)
            self._admit(request)
            code, answer = _accept(request.auth, _request_data(request))
        except Exception as exc:
            return self._error(exc, False)
        return HttpResponse(orjson.dumps(answer), status=code, content_type=JSON)

    @extend_schema(
        request=CanonicalEventSerializer(many=True),
        responses={202: AcceptedEventSerializer(many=True)},
        description="One event object or a list of them. All are stored or none is (400 names the first problem). "
        "Sending an event again (same source and external_id) answers its first id with duplicate=true.",
    )
    def post(self, request):
        # What dispatch does on the lean path, for a DRF request (and the schema's description of it).
        code, answer = _accept(request.auth, request.data)
        return Response(answer, status=code)


def _refuse_unacceptable(request) -> None:
    """406 unless the caller accepts JSON, as DRF's content negotiation answers (the only renderer is JSON)."""
    accept = request.META.get("HTTP_ACCEPT", "")
    if accept and not any(kind in accept for kind in ("json", "*/*", "application/*")):
        raise NotAcceptable()


def _request_data(request):
    """The body as DRF's Request.data reads it for this view: nothing sent is {}, a media type other than
    JSON is a 415, a body past DATA_UPLOAD_MAX_MEMORY_SIZE a 413 (Django's RequestDataTooBig), and the JSON
    is read by the default parser, StrictJSONParser, with its refusals."""
    body = request.body
    if not body:
        return {}
    content_type = request.META.get("CONTENT_TYPE", "")
    if not media_type_matches(StrictJSONParser.media_type, content_type):
        raise UnsupportedMediaType(content_type)
    context = {"request": request, "encoding": request.encoding or settings.DEFAULT_CHARSET}
    return StrictJSONParser().parse(io.BytesIO(body), content_type, context)


def _accept(client, data) -> tuple[int, list | dict]:
    """(status, answer) for a request's events: 202 with one answer per event, or 400 naming the problem."""
    payloads = data if isinstance(data, list) else [data]
    if not payloads:
        raise ValidationError({"detail": "empty list: send one event object or a list of events"})
    if len(payloads) > settings.INGEST_MAX_BATCH:
        raise ValidationError({"detail": f"{len(payloads)} events in one request; at most {settings.INGEST_MAX_BATCH}"})
    _refuse_other_channels(client, payloads)
    try:
        accepted = canonical_events_accept(payloads=payloads)
    except RejectedEvents as exc:
        return status.HTTP_400_BAD_REQUEST, {"detail": str(exc), "errors": exc.errors}
    return status.HTTP_202_ACCEPTED, [
        {"id": None, "duplicate": False, "suppressed": True}
        if event.suppressed
        else {"id": str(event.id), "duplicate": event.duplicate}
        for event in accepted
    ]


class EventStatusApi(APIView):
    """What became of an accepted event: pending, processed (with its customer and interaction), failed, dead."""

    required_scope = ANY_INGEST_SCOPE

    @extend_schema(responses=EventStatusSerializer)
    def get(self, request, event_id):
        event = _visible_to(request.auth, raw_event_by_id(event_id))
        if event is None:
            raise NotFound(f"no event with id {event_id}")
        return Response(EventStatusSerializer(event).data)


class EventLookupApi(APIView):
    """The same, found by the sender's own identity for the event."""

    required_scope = ANY_INGEST_SCOPE

    @extend_schema(
        parameters=[
            OpenApiParameter("source", OpenApiTypes.STR, required=True),
            OpenApiParameter("external_id", OpenApiTypes.STR, required=True),
        ],
        responses=EventStatusSerializer,
    )
    def get(self, request):
        source = request.query_params.get("source", "")
        external_id = request.query_params.get("external_id", "")
        if not source or not external_id:
            raise ValidationError({"detail": "give both source and external_id"})
        event = _visible_to(request.auth, raw_event_by_sender_key(source, external_id))
        if event is None:
            raise NotFound(f"no event {external_id!r} from source {source!r}")
        return Response(EventStatusSerializer(event).data)
