from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView

from api import access_log
from api.choices import AccessAction
from api.filtersets import InteractionFilterSet
from api.pagination import TimelineCursorPagination
from api.scopes import Scope
from api.serializers.timeline import InteractionSerializer
from customer_memory.selectors import customer_by_id
from interactions.models import Interaction
from interactions.selectors import interaction_timeline


class CustomerTimelineApi(ListAPIView):
    """The customer's unified timeline across channels, newest first, filtered and cursor-paginated."""

    required_scope = Scope.TIMELINE_READ
    serializer_class = InteractionSerializer
    filterset_class = InteractionFilterSet
    pagination_class = TimelineCursorPagination
    queryset = Interaction.objects.none()  # for the schema; the real one is the customer's

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Interaction.objects.none()
        customer = customer_by_id(self.kwargs["customer_id"])
        if customer is None:
            raise NotFound(f"no customer with id {self.kwargs['customer_id']}")
        access_log.record(self.request, customer, AccessAction.TIMELINE)
        return interaction_timeline(customer)
