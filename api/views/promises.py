from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from api.filtersets import PromiseFilterSet
from api.pagination import PromiseCursorPagination
from api.serializers.promises import PromiseInputSerializer, PromiseSerializer, PromiseUpdateSerializer
from api.views.agents import ReadOrWriteScope
from customer_memory.selectors import parse_uuid
from interactions.models import Promise
from interactions.services import promise_create, promise_update


class PromiseListApi(ReadOrWriteScope, generics.ListAPIView):
    """Callbacks and follow-ups: list (filter by customer, status, owner, overdue) or create one."""

    serializer_class = PromiseSerializer
    filterset_class = PromiseFilterSet
    pagination_class = PromiseCursorPagination
    queryset = Promise.objects.select_related("owner")

    @extend_schema(request=PromiseInputSerializer, responses={201: PromiseSerializer})
    def post(self, request):
        serializer = PromiseInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        promise = promise_create(**serializer.validated_data)
        return Response(PromiseSerializer(promise).data, status=status.HTTP_201_CREATED)


class PromiseDetailApi(ReadOrWriteScope, generics.GenericAPIView):
    serializer_class = PromiseSerializer
    queryset = Promise.objects.none()

    def _promise(self, promise_id) -> Promise:
        pk = parse_uuid(promise_id)
        promise = Promise.objects.select_related("owner").filter(pk=pk).first() if pk else None
        if promise is None:
            raise NotFound(f"no promise with id {promise_id}")
        return promise

    def get(self, request, promise_id):
        return Response(PromiseSerializer(self._promise(promise_id)).data)

    @extend_schema(request=PromiseUpdateSerializer, responses=PromiseSerializer)
    def patch(self, request, promise_id):
        promise = self._promise(promise_id)
        serializer = PromiseUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        promise = promise_update(promise=promise, changes=dict(serializer.validated_data))
        return Response(PromiseSerializer(promise).data)
