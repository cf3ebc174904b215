from django.utils import timezone
from rest_framework import serializers

from interactions.introductions import agent_tenure_text
from interactions.models import Agent


class AgentSerializer(serializers.ModelSerializer):
    """An agent profile. POST with the (source, external_id) of an agent already known updates that one."""

    source = serializers.CharField(max_length=100, default="directory")
    external_id = serializers.CharField(max_length=255, required=False)
    name = serializers.CharField(max_length=200)
    expertise = serializers.ListField(child=serializers.CharField(max_length=100), max_length=30, required=False)
    languages = serializers.ListField(child=serializers.CharField(max_length=16), max_length=20, required=False)
    tenure = serializers.SerializerMethodField()

    class Meta:
        model = Agent
        fields = [
            "id",
            "source",
            "external_id",
            "name",
            "photo_url",
            "started_at",
            "tenure",
            "expertise",
            "languages",
            "personal_line",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "tenure", "created_at", "updated_at"]
        # (source, external_id) is upserted by the service, not refused as a duplicate.
        validators = []

    def get_tenure(self, agent) -> str:
        return agent_tenure_text(agent, timezone.now().date())

    def validate_started_at(self, value):
        if value and value > timezone.now().date():
            raise serializers.ValidationError("must not be in the future")
        return value


class IntroductionSerializer(serializers.Serializer):
    text = serializers.CharField()
    html = serializers.CharField()
    agent = serializers.DictField()
    customer_id = serializers.UUIDField(allow_null=True)


class SuggestedAgentSerializer(serializers.Serializer):
    agent = AgentSerializer()
    score = serializers.FloatField()
    reasons = serializers.ListField(child=serializers.CharField())
