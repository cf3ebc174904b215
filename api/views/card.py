from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from api import access_log
from api.choices import AccessAction
from api.scopes import Scope
from api.serializers.card import CardSerializer
from customer_memory.selectors import (
    LOOKUP_PARAMETERS,
    customer_by_id,
    customer_by_identifier,
    customer_card,
    empty_card,
)


class CardByIdentifierApi(APIView):
    """The context card of whoever holds this phone, email, account, handle or web id.

    An unknown identifier is not an error: it answers 200 with `known: false` and empty lists.
    """

    required_scope = Scope.CARD_READ

    @extend_schema(
        parameters=[
            OpenApiParameter(name, OpenApiTypes.STR, description=f"{kind.label}")
            for name, kind in LOOKUP_PARAMETERS.items()
        ],
        responses=CardSerializer,
    )
    def get(self, request):
        given = [(name, request.query_params[name]) for name in LOOKUP_PARAMETERS if request.query_params.get(name)]
        if not given:
            raise ValidationError({"detail": f"give one identifier to look up: {', '.join(LOOKUP_PARAMETERS)}"})
        for name, value in given:
            customer = customer_by_identifier(LOOKUP_PARAMETERS[name], value)
            if customer:
                access_log.record(request, customer, AccessAction.CARD)
                return Response(customer_card(customer, lookup={"kind": LOOKUP_PARAMETERS[name].value, "value": value}))
        name, value = given[0]
        return Response(empty_card({"kind": LOOKUP_PARAMETERS[name].value, "value": value}))


class CustomerCardApi(APIView):
    """The context card of a customer by id; a merged-away id answers with the survivor's card."""

    required_scope = Scope.CARD_READ

    @extend_schema(responses=CardSerializer)
    def get(self, request, customer_id):
        customer = customer_by_id(customer_id)
        if customer is None:
            raise NotFound(f"no customer with id {customer_id}")
        access_log.record(request, customer, AccessAction.CARD)
        return Response(customer_card(customer))
