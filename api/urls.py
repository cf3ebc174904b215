from django.urls import path

from api.views.agents import AgentDetailApi, AgentIntroductionApi, AgentListApi, SuggestedAgentsApi
from api.views.card import CardByIdentifierApi, CustomerCardApi
from api.views.events import EventIngestApi, EventLookupApi, EventStatusApi
from api.views.handovers import HandoverCreateApi, HandoverDetailApi
from api.views.promises import PromiseDetailApi, PromiseListApi
from api.views.timeline import CustomerTimelineApi

# Paths are the contract of DESIGN.md: no trailing slashes.
urlpatterns = [
    path("events", EventIngestApi.as_view(), name="events"),
    path("events/lookup", EventLookupApi.as_view(), name="event-lookup"),
    path("events/<str:event_id>", EventStatusApi.as_view(), name="event-status"),
    path("card", CardByIdentifierApi.as_view(), name="card"),
    path("customers/<str:customer_id>/card", CustomerCardApi.as_view(), name="customer-card"),
    path("customers/<str:customer_id>/timeline", CustomerTimelineApi.as_view(), name="customer-timeline"),
    path("customers/<str:customer_id>/suggested-agents", SuggestedAgentsApi.as_view(), name="suggested-agents"),
    path("agents", AgentListApi.as_view(), name="agents"),
    path("agents/<str:agent_id>", AgentDetailApi.as_view(), name="agent"),
    path("agents/<str:agent_id>/introduction", AgentIntroductionApi.as_view(), name="agent-introduction"),
    path("handovers", HandoverCreateApi.as_view(), name="handovers"),
    path("handovers/<str:handover_id>", HandoverDetailApi.as_view(), name="handover"),
    path("promises", PromiseListApi.as_view(), name="promises"),
    path("promises/<str:promise_id>", PromiseDetailApi.as_view(), name="promise"),
]
