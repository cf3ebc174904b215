"""Describe the identity endpoints' JSON for the OpenAPI schema (the selectors build the data)."""

from rest_framework import serializers


class IdentityIdentifierSerializer(serializers.Serializer):
    kind = serializers.CharField()
    value = serializers.CharField(help_text="Normalized: E.164 phone, case-folded email, …")
    match_key = serializers.CharField(help_text="What linking compares: national phone variants share it.")
    verified = serializers.BooleanField()
    source = serializers.CharField(help_text="The system that first reported it.")
    first_seen_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()


class IdentityTraitSerializer(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.JSONField()
    source = serializers.CharField()
    observed_at = serializers.DateTimeField()


class MergeSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    survivor_id = serializers.UUIDField()
    merged_id = serializers.UUIDField()
    reason = serializers.CharField(help_text="shared_identifier, probabilistic, review or analyst")
    rule = serializers.CharField(help_text="join:<kinds>, score, review:<why proposed>")
    score = serializers.FloatField(allow_null=True, help_text="Match probability, for weak evidence.")
    evidence = serializers.JSONField()
    actor = serializers.CharField(help_text="linking, or the analyst or API client that decided")
    raw_event_id = serializers.UUIDField(allow_null=True, help_text="The event that triggered it.")
    moved = serializers.DictField(child=serializers.IntegerField(), help_text="How many rows of each kind moved.")
    created_at = serializers.DateTimeField()
    undone_at = serializers.DateTimeField(allow_null=True)
    undone_by = serializers.CharField()
    role = serializers.ChoiceField(choices=["survivor", "merged"], required=False)


class ReviewProposalSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    other_id = serializers.UUIDField()
    reason = serializers.CharField()
    score = serializers.FloatField(allow_null=True)
    status = serializers.ChoiceField(choices=["pending", "accepted", "rejected"])
    evidence = serializers.JSONField()
    created_at = serializers.DateTimeField()


class IdentityCustomerSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    created_at = serializers.DateTimeField()


class CustomerIdentitySerializer(serializers.Serializer):
    customer = IdentityCustomerSerializer()
    requested_id = serializers.UUIDField(help_text="The id asked for; a merged-away id answers for the survivor.")
    merged_ids = serializers.ListField(child=serializers.UUIDField())
    identifiers = IdentityIdentifierSerializer(many=True)
    traits = IdentityTraitSerializer(many=True)
    merges = MergeSerializer(many=True)
    review = ReviewProposalSerializer(many=True)
