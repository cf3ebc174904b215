import django_filters
from django.db.models import Q
from django.utils import timezone

from interactions.choices import Channel, Direction, PromiseKind, PromiseStatus
from interactions.models import Interaction, Promise


class InteractionFilterSet(django_filters.FilterSet):
    channel = django_filters.MultipleChoiceFilter(
        choices=Channel.choices, label="Channel (repeat for several: ?channel=chat&channel=voice)"
    )
    direction = django_filters.MultipleChoiceFilter(choices=Direction.choices, label="Direction")
    since = django_filters.IsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="gte", label="Occurred at or after (ISO 8601)"
    )
    until = django_filters.IsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="lt", label="Occurred before (ISO 8601)"
    )
    case = django_filters.UUIDFilter(field_name="case_id", label="Case id")

    class Meta:
        model = Interaction
        fields = ["channel", "direction", "since", "until", "case"]


class PromiseFilterSet(django_filters.FilterSet):
    customer = django_filters.UUIDFilter(field_name="customer_id", label="Customer id")
    case = django_filters.UUIDFilter(field_name="case_id", label="Case id")
    owner = django_filters.UUIDFilter(field_name="owner_id", label="Owner agent id")
    status = django_filters.MultipleChoiceFilter(choices=PromiseStatus.choices, label="Status (repeat for several)")
    kind = django_filters.MultipleChoiceFilter(choices=PromiseKind.choices, label="Kind")
    overdue = django_filters.BooleanFilter(method="filter_overdue", label="Outstanding and past its due time")
    due_before = django_filters.IsoDateTimeFilter(field_name="due_at", lookup_expr="lt", label="Due before (ISO 8601)")

    class Meta:
        model = Promise
        fields = ["customer", "case", "owner", "status", "kind", "overdue", "due_before"]

    def filter_overdue(self, queryset, name, value):
        overdue = Q(status__in=PromiseStatus.outstanding(), due_at__lt=timezone.now())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)
