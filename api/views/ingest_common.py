"""What the channel endpoints share: how they accept and answer."""

from rest_framework import serializers, status
from rest_framework.response import Response

from channels_ingest.services import RejectedEvents, channel_events_accept


class AcceptedDeliverySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    duplicate = serializers.BooleanField()


def accept_and_answer(*, source: str, format: str, payloads: list) -> Response:
    """202 with one {"id", "duplicate"} per payload, or 400 naming the first payload refused (nothing stored)."""
    try:
        accepted = channel_events_accept(source=source, format=format, payloads=payloads)
    except RejectedEvents as exc:
        return Response({"detail": str(exc), "errors": exc.errors}, status=status.HTTP_400_BAD_REQUEST)
    return Response(
        [{"id": str(event.id), "duplicate": event.duplicate} for event in accepted], status=status.HTTP_202_ACCEPTED
    )
