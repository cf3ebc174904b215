from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from api import access_log
from api.choices import AccessAction
from api.scopes import Scope
from customer_memory.privacy import customer_erase, customer_export
from customer_memory.selectors import customer_by_id

_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no", ""}


def _customer_or_404(customer_id):
    customer = customer_by_id(customer_id)
    if customer is None:
        raise NotFound(f"no customer with id {customer_id}")
    return customer


class CustomerExportApi(APIView):
    """Everything held on a customer (and every customer merged into them), as JSON: the right of access."""

    required_scope = Scope.PRIVACY_ADMIN

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, customer_id):
        customer = _customer_or_404(customer_id)
        data = customer_export(customer=customer)
        access_log.record(request, customer, AccessAction.EXPORT)
        return Response(data)


class CustomerEraseApi(APIView):
    """Erase a customer: identifiers, traits, interactions, cases, raw events, merges, access-log entries and
    cached cards. With `suppress=true` their identifiers are kept only as keyed hashes, and future events
    carrying any of them are dropped instead of stored."""

    required_scope = Scope.PRIVACY_ADMIN

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "suppress", OpenApiTypes.BOOL, description="Drop future events carrying the same identifiers."
            )
        ],
        responses={
            200: inline_serializer(
                "Erasure",
                {
                    "customer_id": serializers.UUIDField(),
                    "erased": serializers.DictField(child=serializers.IntegerField(), help_text="Rows per kind."),
                    "suppressed_identifiers": serializers.IntegerField(),
                },
            )
        },
    )
    def delete(self, request, customer_id):
        suppress = request.query_params.get("suppress", "").strip().lower()
        if suppress not in _TRUE | _FALSE:
            raise ValidationError({"suppress": [f"must be true or false, not {suppress!r}"]})
        customer = _customer_or_404(customer_id)
        erasure = customer_erase(customer=customer, suppress=suppress in _TRUE)
        # After the erasure, which removes the person's earlier entries: the record that it happened stays.
        access_log.record(request, erasure.customer_id, AccessAction.ERASE)
        return Response(
            {
                "customer_id": str(erasure.customer_id),
                "erased": erasure.erased,
                "suppressed_identifiers": erasure.suppressed,
            }
        )
