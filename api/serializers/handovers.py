from rest_framework import serializers

from interactions.models import Agent, Case, Handover


class HandoverInputSerializer(serializers.Serializer):
    case_id = serializers.PrimaryKeyRelatedField(queryset=Case.objects.select_related("customer"), source="case")
    from_agent_id = serializers.PrimaryKeyRelatedField(queryset=Agent.objects.all(), source="from_agent")
    to_agent_id = serializers.PrimaryKeyRelatedField(queryset=Agent.objects.all(), source="to_agent")
    note = serializers.CharField(max_length=4000)

    def validate(self, data):
        if data["from_agent"] == data["to_agent"]:
            raise serializers.ValidationError({"to_agent_id": ["must be another agent than from_agent_id"]})
        return data


class HandoverSerializer(serializers.ModelSerializer):
    case_id = serializers.UUIDField()
    customer_id = serializers.UUIDField(source="case.customer_id")
    from_agent_id = serializers.UUIDField()
    to_agent_id = serializers.UUIDField()
    from_agent = serializers.CharField(source="from_agent.name")
    to_agent = serializers.CharField(source="to_agent.name")

    class Meta:
        model = Handover
        fields = [
            "id",
            "case_id",
            "customer_id",
            "from_agent_id",
            "to_agent_id",
            "from_agent",
            "to_agent",
            "note",
            "script",
            "created_at",
        ]
