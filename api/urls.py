from django.urls import path

from api.views.card import CardByIdentifierApi, CustomerCardApi
from api.views.events import EventIngestApi, EventLookupApi, EventStatusApi
from api.views.identity import CustomerIdentityApi, MergeUndoApi
from api.views.timeline import CustomerTimelineApi

# Paths are the contract of DESIGN.md: no trailing slashes.
urlpatterns = [
    path("events", EventIngestApi.as_view(), name="events"),
    path("events/lookup", EventLookupApi.as_view(), name="event-lookup"),
    path("events/<str:event_id>", EventStatusApi.as_view(), name="event-status"),
    path("card", CardByIdentifierApi.as_view(), name="card"),
    path("customers/<str:customer_id>/card", CustomerCardApi.as_view(), name="customer-card"),
    path("customers/<str:customer_id>/timeline", CustomerTimelineApi.as_view(), name="customer-timeline"),
    path("customers/<str:customer_id>/identity", CustomerIdentityApi.as_view(), name="customer-identity"),
    path("merges/<str:merge_id>/undo", MergeUndoApi.as_view(), name="merge-undo"),
]
