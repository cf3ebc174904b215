"""The card's shape for the OpenAPI schema. The card itself is built as plain dicts by
customer_memory.card: a serializer on the hot path costs more than the query."""

from rest_framework import serializers

from interactions.choices import PromiseKind


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


class CardContinuationSerializer(serializers.Serializer):
    channel = serializers.CharField()
    asked = serializers.CharField()
    said = serializers.CharField()
    next_step = serializers.CharField()
    text = serializers.CharField(help_text="e.g. 'chatted with us 12 minutes ago about …; was told to call'")


class CardLastContactSerializer(serializers.Serializer):
    channel = serializers.CharField()
    direction = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    ago = serializers.CharField()
    summary = serializers.CharField()
    agent = CardAgentSerializer(allow_null=True)
    case_id = serializers.UUIDField(allow_null=True)
    continuation = CardContinuationSerializer(
        allow_null=True, help_text="A recent contact on another channel than the customer is on now: pick it up."
    )


class CardPromiseSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=PromiseKind.choices)
    status = serializers.CharField(help_text="open or overdue (kept and cancelled promises leave the card)")
    due_at = serializers.DateTimeField()
    due = serializers.CharField(help_text="'in 2 hours' or '30 minutes ago'")
    overdue = serializers.BooleanField()
    channel = serializers.CharField(help_text="Blank: any channel.")
    case_id = serializers.UUIDField(allow_null=True)
    note = serializers.CharField()
    owner = CardAgentSerializer(allow_null=True)


class CardHandoverNoteSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    case_id = serializers.UUIDField()
    case_title = serializers.CharField()
    from_agent = serializers.CharField()
    to_agent = serializers.CharField()
    from_agent_id = serializers.UUIDField()
    to_agent_id = serializers.UUIDField()
    note = serializers.CharField()
    created_at = serializers.DateTimeField()
    ago = serializers.CharField()


class CardReasonSerializer(serializers.Serializer):
    reason = serializers.CharField()
    confidence = serializers.FloatField(min_value=0, max_value=1)
    evidence = serializers.ListField(child=serializers.CharField())


class CardDetailSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="address, date_of_birth, product, plan, account, email, phone")
    value = serializers.CharField()
    source = serializers.CharField()
    updated_at = serializers.DateTimeField()
    age = serializers.CharField()
    verified = serializers.BooleanField(required=False, help_text="Identifiers only.")


class CardExperienceSerializer(serializers.Serializer):
    last_csat = serializers.FloatField(allow_null=True)
    last_csat_at = serializers.DateTimeField(allow_null=True)
    sentiment_trend = serializers.ChoiceField(choices=["improving", "declining", "steady", "unknown"])
    data_points = serializers.IntegerField()


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
    promises = CardPromiseSerializer(many=True)
    handover_notes = CardHandoverNoteSerializer(many=True)
    likely_reasons = CardReasonSerializer(many=True)
    details_to_confirm = CardDetailSerializer(many=True)
    experience = CardExperienceSerializer(allow_null=True)
