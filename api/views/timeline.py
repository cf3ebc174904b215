from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.response import Response

from api import access_log
from api.choices import AccessAction
from api.filtersets import InteractionFilterSet
from api.pagination import TimelineCursorPagination
from api.renderers import JSON_OR_TEXT, wants_text
from api.scopes import Scope
from api.serializers.timeline import InteractionSerializer
from customer_memory.selectors import customer_by_id
from interactions.models import Interaction
from interactions.selectors import interaction_timeline, timeline_text


class CustomerTimelineApi(ListAPIView):
    """The customer's unified timeline across channels, newest first, filtered and cursor-paginated.

    `?format=text` answers the same page as plain lines (with the next page's URL at the end)."""

    required_scope = Scope.TIMELINE_READ
    serializer_class = InteractionSerializer
    filterset_class = InteractionFilterSet
    pagination_class = TimelineCursorPagination
    renderer_classes = JSON_OR_TEXT
    queryset = Interaction.objects.none()  # for the schema; the real one is the customer's

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Interaction.objects.none()
        self.customer = customer_by_id(self.kwargs["customer_id"])
        if self.customer is None:
            raise NotFound(f"no customer with id {self.kwargs['customer_id']}")
        access_log.record(self.request, self.customer, AccessAction.TIMELINE)
        return interaction_timeline(self.customer)

    @extend_schema(
        parameters=[OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "text"], description="text: as lines")]
    )
    def get(self, request, *args, **kwargs):
        if not wants_text(request):
            return self.list(request, *args, **kwargs)
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return Response(timeline_text(page, customer=self.customer, next_url=self.paginator.get_next_link()))
