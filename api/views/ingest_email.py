"""Email: a raw RFC 5322 message as the body, or an inbound-parse webhook's form. These routes alone accept
bodies up to EMAIL_INGEST_MAX_BYTES, since mail with attachments runs to tens of MB."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.views import APIView

from api.authentication import CHANNEL_AUTHENTICATION
from api.parsers import CappedFormParser, RawBodyParser
from api.scopes import Scope
from api.views.ingest_common import AcceptedDeliverySerializer, accept_and_answer
from channels_ingest.choices import RawEventFormat
from channels_ingest.normalizers.email import mime_payload


class EmailIngestApi(APIView):
    """One raw message (`Content-Type: message/rfc822`), stored as received and threaded by its headers."""

    required_scope = Scope.INGEST_EMAIL
    authentication_classes = CHANNEL_AUTHENTICATION
    parser_classes = [RawBodyParser]

    @staticmethod
    def max_body_bytes() -> int:
        return settings.EMAIL_INGEST_MAX_BYTES

    @extend_schema(
        operation_id="email_ingest",
        request={"message/rfc822": OpenApiTypes.BINARY},
        responses={202: AcceptedDeliverySerializer(many=True)},
    )
    def post(self, request):
        raw = request.data
        if not isinstance(raw, bytes) or not raw.strip():
            raise ValidationError({"detail": "empty body: send the raw message as message/rfc822"})
        return accept_and_answer(
            source=request.auth.ingest_source, format=RawEventFormat.EMAIL, payloads=[mime_payload(raw)]
        )


class EmailInboundIngestApi(APIView):
    """An inbound-parse webhook (SendGrid's fields, raw mode's `email` field, or Mailgun's fields)."""

    required_scope = Scope.INGEST_EMAIL
    authentication_classes = CHANNEL_AUTHENTICATION
    parser_classes = [CappedFormParser]

    @staticmethod
    def max_body_bytes() -> int:
        return settings.EMAIL_INGEST_MAX_BYTES

    @extend_schema(
        operation_id="email_inbound_ingest",
        request={"multipart/form-data": OpenApiTypes.OBJECT},
        responses={202: AcceptedDeliverySerializer(many=True)},
    )
    def post(self, request):
        return accept_and_answer(
            source=request.auth.ingest_source, format=RawEventFormat.EMAIL_INBOUND, payloads=[request.data]
        )
