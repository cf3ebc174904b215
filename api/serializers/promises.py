from django.utils import timezone
from rest_framework import serializers

from api.serializers.timeline import AgentRefSerializer
from customer_memory.selectors import customer_by_id
from interactions.choices import Channel, PromiseKind, PromiseStatus
from interactions.models import Agent, Case, Promise

# A due time this far in the past is a mistake, not a promise (a little slack for clocks and forms).
PAST_SLACK_SECONDS = 300


def _not_past(value):
    if (timezone.now() - value).total_seconds() > PAST_SLACK_SECONDS:
        raise serializers.ValidationError("must not be in the past")
    return value


class PromiseInputSerializer(serializers.Serializer):
    customer_id = serializers.UUIDField()
    case_id = serializers.PrimaryKeyRelatedField(
        queryset=Case.objects.all(), source="case", required=False, allow_null=True
    )
    owner_agent_id = serializers.PrimaryKeyRelatedField(
        queryset=Agent.objects.all(), source="owner", required=False, allow_null=True
    )
    kind = serializers.ChoiceField(choices=PromiseKind.choices)
    due_at = serializers.DateTimeField(validators=[_not_past])
    channel = serializers.ChoiceField(choices=Channel.choices, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    def validate_customer_id(self, value):
        customer = customer_by_id(value)  # a merged-away id means its survivor
        if customer is None:
            raise serializers.ValidationError(f"no customer with id {value}")
        return customer

    def validate(self, data):
        data["customer"] = data.pop("customer_id")
        case = data.get("case")
        if case is not None and case.customer_id != data["customer"].pk:
            raise serializers.ValidationError({"case_id": ["this case belongs to another customer"]})
        return data


class PromiseUpdateSerializer(serializers.Serializer):
    owner_agent_id = serializers.PrimaryKeyRelatedField(
        queryset=Agent.objects.all(), source="owner", required=False, allow_null=True
    )
    due_at = serializers.DateTimeField(required=False, validators=[_not_past])
    channel = serializers.ChoiceField(choices=Channel.choices, required=False, allow_blank=True)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    status = serializers.ChoiceField(
        choices=[PromiseStatus.KEPT, PromiseStatus.CANCELLED, PromiseStatus.OPEN], required=False
    )


class PromiseSerializer(serializers.ModelSerializer):
    customer_id = serializers.UUIDField()
    case_id = serializers.UUIDField(allow_null=True)
    owner = AgentRefSerializer(allow_null=True)
    overdue = serializers.SerializerMethodField()
    kept_by_interaction_id = serializers.UUIDField(source="kept_by_id", allow_null=True)

    class Meta:
        model = Promise
        fields = [
            "id",
            "customer_id",
            "case_id",
            "owner",
            "kind",
            "channel",
            "due_at",
            "note",
            "status",
            "overdue",
            "kept_at",
            "kept_by_interaction_id",
            "created_at",
            "updated_at",
        ]

    def get_overdue(self, promise) -> bool:
        return promise.is_overdue(timezone.now())
