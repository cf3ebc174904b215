from rest_framework import serializers

from channels_ingest.models import RawEvent
from interactions.choices import CaseStatus, Channel, Direction


class AddressSerializer(serializers.Serializer):
    line1 = serializers.CharField(required=False)
    line2 = serializers.CharField(required=False)
    city = serializers.CharField(required=False)
    postcode = serializers.CharField(required=False)
    region = serializers.CharField(required=False)
    country = serializers.CharField(required=False)


class EventCustomerSerializer(serializers.Serializer):
    phone = serializers.CharField(required=False, help_text="Any format; normalized to E.164.")
    email = serializers.CharField(required=False)
    account_id = serializers.CharField(required=False)
    user_id = serializers.CharField(required=False)
    handle = serializers.CharField(required=False)
    anonymous_id = serializers.CharField(required=False)
    verified = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text='Identifier keys the sender has verified, e.g. ["phone"].',
    )
    name = serializers.CharField(required=False)
    first_name = serializers.CharField(required=False)
    last_name = serializers.CharField(required=False)
    preferred_name = serializers.CharField(required=False)
    language = serializers.CharField(required=False)
    date_of_birth = serializers.DateField(required=False)
    address = AddressSerializer(required=False)
    customer_since = serializers.DateField(required=False)


class EventCaseSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    title = serializers.CharField(required=False)
    status = serializers.ChoiceField(choices=CaseStatus.choices, required=False)


class EventAgentSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    name = serializers.CharField(required=False)


class CanonicalEventSerializer(serializers.Serializer):
    """The canonical event of DESIGN.md. Documents the request; validation is the canonical normalizer's."""

    source = serializers.CharField(max_length=100)
    external_id = serializers.CharField(max_length=255)
    channel = serializers.ChoiceField(choices=Channel.choices)
    type = serializers.CharField(required=False, max_length=64)
    direction = serializers.ChoiceField(choices=Direction.choices, required=False)
    occurred_at = serializers.DateTimeField()
    customer = EventCustomerSerializer(help_text="At least one identifier: phone, email, account_id, …")
    summary = serializers.CharField(required=False, max_length=10_000)
    case = EventCaseSerializer(required=False)
    agent = EventAgentSerializer(required=False)
    attributes = serializers.DictField(required=False)


class AcceptedEventSerializer(serializers.Serializer):
    id = serializers.UUIDField(allow_null=True, help_text="Null only for a suppressed event, which is not stored.")
    duplicate = serializers.BooleanField(help_text="True when this event was already stored; nothing new was.")
    suppressed = serializers.BooleanField(
        required=False,
        help_text="Present and true when the event carries an identifier of an erased customer who asked not "
        "to be recorded: it was dropped, not stored.",
    )


class EventStatusSerializer(serializers.ModelSerializer):
    customer_id = serializers.UUIDField(allow_null=True)
    interaction_id = serializers.UUIDField(allow_null=True)

    class Meta:
        model = RawEvent
        fields = [
            "id",
            "source",
            "external_id",
            "format",
            "status",
            "error",
            "attempts",
            "customer_id",
            "interaction_id",
            "received_at",
            "processed_at",
        ]
