import django_filters

from interactions.choices import Channel, Direction
from interactions.models import Interaction


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
