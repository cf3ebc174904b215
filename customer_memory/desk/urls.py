from django.urls import path

from customer_memory.desk import views

urlpatterns = [
    path("", views.desk, name="desk"),
    path("handovers", views.desk_handover, name="desk-handover"),
    path("promises", views.desk_promise, name="desk-promise"),
]
