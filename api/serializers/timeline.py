from rest_framework import serializers

from interactions.models import Agent, Interaction


class AgentRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Agent
        fields = ["id", "name"]


class InteractionSerializer(serializers.ModelSerializer):
    case_id = serializers.UUIDField(allow_null=True)
    agent = AgentRefSerializer(allow_null=True)

    class Meta:
        model = Interaction
        fields = [
            "id",
            "channel",
            "direction",
            "type",
            "occurred_at",
            "summary",
            "case_id",
            "agent",
            "source",
            "external_id",
            "attributes",
            "automated",
            "messages",
        ]
