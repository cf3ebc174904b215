"""Voice: Twilio call status callbacks and Amazon Connect contact trace records."""

import base64
import binascii
import json

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from api.authentication import CHANNEL_AUTHENTICATION, FirehoseAccessKeyAuthentication, twilio_signature_valid
from api.scopes import Scope
from api.views.ingest_common import AcceptedDeliverySerializer, accept_and_answer
from channels_ingest.choices import RawEventFormat


class TwilioVoiceIngestApi(APIView):
    """A Twilio call status callback (form-encoded). When the client has a Twilio auth token, the request
    must carry a valid X-Twilio-Signature (403 otherwise, nothing stored)."""

    required_scope = Scope.INGEST_VOICE
    authentication_classes = CHANNEL_AUTHENTICATION
    parser_classes = [FormParser]

    @extend_schema(
        operation_id="twilio_voice_ingest",
        request={"application/x-www-form-urlencoded": OpenApiTypes.OBJECT},
        responses={202: AcceptedDeliverySerializer(many=True)},
    )
    def post(self, request):
        params = {name: request.data.getlist(name) for name in request.data}
        client = request.auth
        if client.twilio_auth_token and not twilio_signature_valid(
            auth_token=client.twilio_auth_token,
            url=_url_as_twilio_saw_it(request),
            params=params,
            signature=request.META.get("HTTP_X_TWILIO_SIGNATURE", ""),
        ):
            raise PermissionDenied("X-Twilio-Signature: missing or wrong for this URL and these parameters")
        payload = {name: values[0] if len(values) == 1 else values for name, values in params.items()}
        return accept_and_answer(source=client.ingest_source, format=RawEventFormat.TWILIO, payloads=[payload])


def _url_as_twilio_saw_it(request) -> str:
    """Behind a proxy the request's own URL differs from the public one Twilio signed: TWILIO_WEBHOOK_BASE_URL
    names the public one explicitly, rather than trusting forwarded headers anyone can send."""
    if settings.TWILIO_WEBHOOK_BASE_URL:
        return settings.TWILIO_WEBHOOK_BASE_URL.rstrip("/") + request.get_full_path()
    return request.build_absolute_uri()


class ConnectVoiceIngestApi(APIView):
    """Amazon Connect contact trace records: one record, a list, or a Kinesis Data Firehose HTTP endpoint
    delivery (`{"requestId", "records": [{"data": base64 CTR JSON}]}`, answered as Firehose expects)."""

    required_scope = Scope.INGEST_VOICE
    authentication_classes = [*CHANNEL_AUTHENTICATION, FirehoseAccessKeyAuthentication]
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="connect_voice_ingest",
        request=OpenApiTypes.OBJECT,
        responses={202: AcceptedDeliverySerializer(many=True)},
    )
    def post(self, request):
        body = request.data
        firehose = isinstance(body, dict) and "records" in body and "ContactId" not in body
        records = _firehose_records(body) if firehose else body if isinstance(body, list) else [body]
        if not records:
            raise ValidationError({"detail": "no contact trace record in the request"})
        if len(records) > settings.INGEST_MAX_BATCH:
            raise ValidationError(
                {"detail": f"{len(records)} records in one request; at most {settings.INGEST_MAX_BATCH}"}
            )
        response = accept_and_answer(source=request.auth.ingest_source, format=RawEventFormat.CONNECT, payloads=records)
        if firehose:
            # Firehose reads only requestId and timestamp, and retries on anything but 200.
            answer = {"requestId": body.get("requestId"), "timestamp": body.get("timestamp")}
            if response.status_code != status.HTTP_202_ACCEPTED:
                return Response({**answer, "errorMessage": response.data["detail"]}, status=response.status_code)
            return Response(answer, status=status.HTTP_200_OK)
        return response


def _firehose_records(body: dict) -> list:
    if not isinstance(body.get("records"), list):
        raise ValidationError({"detail": "records: must be a list of {data: base64}"})
    records = []
    for index, record in enumerate(body["records"]):
        try:
            records.append(json.loads(base64.b64decode(record["data"], validate=True)))
        except (TypeError, KeyError, binascii.Error, ValueError):
            raise ValidationError({"detail": f"records[{index}].data: not base64 of a JSON record"}) from None
    return records
