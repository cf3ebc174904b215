from django.urls import path, re_path

from api.views.agents import AgentDetailApi, AgentIntroductionApi, AgentListApi, SuggestedAgentsApi
from api.views.card import CardByIdentifierApi, CustomerCardApi
from api.views.events import EventIngestApi, EventLookupApi, EventStatusApi
from api.views.handovers import HandoverCreateApi, HandoverDetailApi
from api.views.identity import CustomerIdentityApi, MergeUndoApi
from api.views.ingest_chat import ChatIngestApi
from api.views.ingest_email import EmailInboundIngestApi, EmailIngestApi
from api.views.ingest_segment import SegmentIngestApi
from api.views.ingest_voice import ConnectVoiceIngestApi, TwilioVoiceIngestApi
from api.views.privacy import CustomerEraseApi, CustomerExportApi
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
    re_path(
        r"^ingest/segment/v1/(?P<kind>identify|track|page|screen|group|alias|batch)$",
        SegmentIngestApi.as_view(),
        name="ingest-segment",
    ),
    path("ingest/voice/twilio", TwilioVoiceIngestApi.as_view(), name="ingest-twilio"),
    path("ingest/voice/connect", ConnectVoiceIngestApi.as_view(), name="ingest-connect"),
    path("ingest/email", EmailIngestApi.as_view(), name="ingest-email"),
    path("ingest/email/inbound", EmailInboundIngestApi.as_view(), name="ingest-email-inbound"),
    path("ingest/chat", ChatIngestApi.as_view(), name="ingest-chat"),
    path("customers/<str:customer_id>/export", CustomerExportApi.as_view(), name="customer-export"),
    path("customers/<str:customer_id>", CustomerEraseApi.as_view(), name="customer-erase"),
    path("customers/<str:customer_id>/identity", CustomerIdentityApi.as_view(), name="customer-identity"),
    path("merges/<str:merge_id>/undo", MergeUndoApi.as_view(), name="merge-undo"),
]
