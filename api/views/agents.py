import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from api.pagination import AgentCursorPagination
from api.scopes import Scope
from api.serializers.agents import AgentSerializer, IntroductionSerializer, SuggestedAgentSerializer
from customer_memory.selectors import customer_by_id, parse_uuid
from interactions.introductions import agent_introduction
from interactions.models import Agent
from interactions.selectors import suggested_agents
from interactions.services import agent_save


class ReadOrWriteScope:
    """Reading needs card:read; writing agents, handovers and promises needs agents:write."""

    @property
    def required_scope(self):
        return Scope.CARD_READ if self.request.method in SAFE_METHODS else Scope.AGENTS_WRITE


class AgentListApi(ReadOrWriteScope, generics.ListCreateAPIView):
    """Agent profiles. POST creates one, or updates the profile of the agent a source already knows by
    (source, external_id) — e.g. an agent first seen in events — answering 200 instead of 201."""

    serializer_class = AgentSerializer
    pagination_class = AgentCursorPagination
    queryset = Agent.objects.all()

    @extend_schema(responses={201: AgentSerializer, 200: AgentSerializer})
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        source = data.pop("source")
        external_id = data.pop("external_id", None)
        # An agent with no id in another system gets one here, so a later POST can update the same profile.
        external_id = external_id or f"agent-{uuid.uuid4().hex[:12]}"
        agent, created = agent_save(source=source, external_id=external_id, profile=data)
        return Response(AgentSerializer(agent).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class AgentDetailApi(ReadOrWriteScope, generics.RetrieveUpdateAPIView):
    serializer_class = AgentSerializer
    queryset = Agent.objects.all()
    lookup_url_kwarg = "agent_id"

    def get_object(self):
        return _agent_or_404(self.kwargs["agent_id"])

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        agent = serializer.instance
        agent_save(source=agent.source, external_id=agent.external_id, profile=data)
        serializer.instance.refresh_from_db()


def _agent_or_404(agent_id) -> Agent:
    pk = parse_uuid(agent_id)
    agent = Agent.objects.filter(pk=pk).first() if pk else None
    if agent is None:
        raise NotFound(f"no agent with id {agent_id}")
    return agent


class AgentIntroductionApi(APIView):
    """The customer-facing warm introduction of an agent: text, HTML and the profile it is made from."""

    required_scope = Scope.CARD_READ

    @extend_schema(
        parameters=[OpenApiParameter("customer", OpenApiTypes.UUID, description="The customer to address")],
        responses=IntroductionSerializer,
    )
    def get(self, request, agent_id):
        agent = _agent_or_404(agent_id)
        customer = None
        if request.query_params.get("customer"):
            customer = customer_by_id(request.query_params["customer"])
            if customer is None:
                raise NotFound(f"no customer with id {request.query_params['customer']}")
        return Response(agent_introduction(agent, customer=customer))


class SuggestedAgentsApi(APIView):
    """Agents ranked for this customer: continuity with good CSAT, language, expertise on the open case."""

    required_scope = Scope.CARD_READ

    @extend_schema(responses=SuggestedAgentSerializer(many=True))
    def get(self, request, customer_id):
        customer = customer_by_id(customer_id)
        if customer is None:
            raise NotFound(f"no customer with id {customer_id}")
        return Response(SuggestedAgentSerializer(suggested_agents(customer), many=True).data)
