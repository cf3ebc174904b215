"""The card's shape for the OpenAPI schema. The card itself is built as plain dicts by
customer_memory.card: a serializer on the hot path costs more than the query."""

from rest_framework import serializers


class CardIdentifierSerializer(serializers.Serializer):
    kind = serializers.CharField()
    value = serializers.CharField()
    verified = serializers.BooleanField()


class CardCustomerSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    preferred_name = serializers.CharField()
    language = serializers.CharField()
    verified = serializers.BooleanField()
    identifiers = CardIdentifierSerializer(many=True)


class CardTenureSerializer(serializers.Serializer):
    since = serializers.DateField()
    source = serializers.ChoiceField(choices=["record", "first_contact"])
    years = serializers.IntegerField()
    text = serializers.CharField()


class CardCaseSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    status = serializers.CharField()
    opened_at = serializers.DateTimeField()
    last_activity_at = serializers.DateTimeField()
    channel = serializers.CharField()


class CardAgentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class CardInteractionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    channel = serializers.CharField()
    direction = serializers.CharField()
    type = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    summary = serializers.CharField()
    case_id = serializers.UUIDField(allow_null=True)
    agent = CardAgentSerializer(allow_null=True)


class CardLastContactSerializer(serializers.Serializer):
    channel = serializers.CharField()
    direction = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    ago = serializers.CharField()
    summary = serializers.CharField()
    agent = CardAgentSerializer(allow_null=True)


class CardLookupSerializer(serializers.Serializer):
    kind = serializers.CharField()
    value = serializers.CharField()


class CardSerializer(serializers.Serializer):
    known = serializers.BooleanField()
    lookup = CardLookupSerializer(allow_null=True, required=False)
    customer = CardCustomerSerializer(allow_null=True)
    tenure = CardTenureSerializer(allow_null=True)
    greeting = serializers.CharField()
    open_cases = CardCaseSerializer(many=True)
    recent_cases = CardCaseSerializer(many=True)
    recent_interactions = CardInteractionSerializer(many=True)
    last_contact = CardLastContactSerializer(allow_null=True)
    promises = serializers.ListField(child=serializers.DictField())
    handover_notes = serializers.ListField(child=serializers.DictField())
    likely_reasons = serializers.ListField(child=serializers.DictField())
    details_to_confirm = serializers.ListField(child=serializers.DictField())
    experience = serializers.DictField(allow_null=True)
