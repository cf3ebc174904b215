from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from api import access_log
from api.choices import AccessAction
from api.scopes import Scope
from api.serializers.identity import CustomerIdentitySerializer, MergeSerializer
from customer_memory.identity.selectors import customer_identity, merge_item
from customer_memory.models import Merge
from customer_memory.selectors import customer_by_id, parse_uuid
from customer_memory.services import MergeNotUndoable, merge_undo


class CustomerIdentityApi(APIView):
    """Why this customer is who they are: identifiers with their sources, traits, merges, review proposals.

    Scope identity:admin: it shows merge evidence and other customers' ids, which a desk does not need.
    A merged-away id answers for the survivor (`requested_id` echoes the id asked for).
    """

    required_scope = Scope.IDENTITY_ADMIN

    @extend_schema(responses=CustomerIdentitySerializer)
    def get(self, request, customer_id):
        customer = customer_by_id(customer_id)
        if customer is None:
            raise NotFound(f"no customer with id {customer_id}")
        access_log.record(request, customer, AccessAction.IDENTITY)
        return Response(customer_identity(customer, requested_id=customer_id))


class MergeUndoApi(APIView):
    """Undo a merge: both customers get back their own identifiers, traits and interactions.

    409 if it was undone already. The pair is then never merged automatically again.
    """

    required_scope = Scope.IDENTITY_ADMIN

    @extend_schema(request=None, responses={200: MergeSerializer})
    def post(self, request, merge_id):
        pk = parse_uuid(merge_id)
        if pk is None or not Merge.objects.filter(pk=pk).exists():
            raise NotFound(f"no merge with id {merge_id}")
        try:
            merge = merge_undo(merge_id=pk, actor=f"api:{request.auth.name}")
        except MergeNotUndoable as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(merge_item(merge))
