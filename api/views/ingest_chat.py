"""Chat: conversation transcripts and single messages."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.views import APIView

from api.authentication import CHANNEL_AUTHENTICATION
from api.scopes import Scope
from api.views.ingest_common import AcceptedDeliverySerializer, accept_and_answer
from channels_ingest.choices import RawEventFormat


class ChatIngestApi(APIView):
    """One chat event (a transcript or a message) or a list of them; a conversation is one interaction."""

    required_scope = Scope.INGEST_CHAT
    authentication_classes = CHANNEL_AUTHENTICATION

    @extend_schema(
        operation_id="chat_ingest", request=OpenApiTypes.OBJECT, responses={202: AcceptedDeliverySerializer(many=True)}
    )
    def post(self, request):
        events = request.data if isinstance(request.data, list) else [request.data]
        if not events:
            raise ValidationError({"detail": "empty list: send one chat event or a list of them"})
        if len(events) > settings.INGEST_MAX_BATCH:
            raise ValidationError(
                {"detail": f"{len(events)} events in one request; at most {settings.INGEST_MAX_BATCH}"}
            )
        return accept_and_answer(source=request.auth.ingest_source, format=RawEventFormat.CHAT, payloads=events)
