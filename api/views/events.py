from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from api.scopes import INGEST_CHANNEL_SCOPES, Scope
from api.serializers.events import AcceptedEventSerializer, CanonicalEventSerializer, EventStatusSerializer
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


class EventIngestApi(APIView):
    """Accept canonical events, one object or a list: stored durably before the answer, processed by workers."""

    required_scope = ANY_INGEST_SCOPE

    @extend_schema(
        request=CanonicalEventSerializer(many=True),
        responses={202: AcceptedEventSerializer(many=True)},
        description="One event object or a list of them. All are stored or none is (400 names the first problem). "
        "Sending an event again (same source and external_id) answers its first id with duplicate=true.",
    )
    def post(self, request):
        payloads = request.data if isinstance(request.data, list) else [request.data]
        if not payloads:
            raise ValidationError({"detail": "empty list: send one event object or a list of events"})
        if len(payloads) > settings.INGEST_MAX_BATCH:
            raise ValidationError(
                {"detail": f"{len(payloads)} events in one request; at most {settings.INGEST_MAX_BATCH}"}
            )
        _refuse_other_channels(request.auth, payloads)
        try:
            accepted = canonical_events_accept(payloads=payloads)
        except RejectedEvents as exc:
            return Response({"detail": str(exc), "errors": exc.errors}, status=status.HTTP_400_BAD_REQUEST)
        data = [
            {"id": None, "duplicate": False, "suppressed": True}
            if event.suppressed
            else {"id": str(event.id), "duplicate": event.duplicate}
            for event in accepted
        ]
        return Response(data, status=status.HTTP_202_ACCEPTED)


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
