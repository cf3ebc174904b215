from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from api.scopes import Scope
from api.serializers.handovers import HandoverInputSerializer, HandoverSerializer
from customer_memory.selectors import parse_uuid
from interactions.models import Handover
from interactions.services import handover_create


class HandoverCreateApi(APIView):
    """Hand a case to another agent: the note is shown on the next agent's card, and the answer carries
    the script for the three-way introduction."""

    required_scope = Scope.AGENTS_WRITE

    @extend_schema(request=HandoverInputSerializer, responses={201: HandoverSerializer})
    def post(self, request):
        serializer = HandoverInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        handover = handover_create(**serializer.validated_data)
        return Response(HandoverSerializer(handover).data, status=status.HTTP_201_CREATED)


class HandoverDetailApi(APIView):
    required_scope = Scope.CARD_READ

    @extend_schema(responses=HandoverSerializer)
    def get(self, request, handover_id):
        pk = parse_uuid(handover_id)
        handover = (
            Handover.objects.select_related("case", "from_agent", "to_agent").filter(pk=pk).first() if pk else None
        )
        if handover is None:
            raise NotFound(f"no handover with id {handover_id}")
        return Response(HandoverSerializer(handover).data)
