from rest_framework.pagination import CursorPagination


class TimelineCursorPagination(CursorPagination):
    """Newest first; a cursor stays stable while new interactions arrive at the head of the timeline."""

    ordering = ("-occurred_at", "-id")
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200


class PromiseCursorPagination(CursorPagination):
    """Soonest due first; supervisors page through every promise without an unbounded answer."""

    ordering = ("due_at", "id")
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 500


class AgentCursorPagination(CursorPagination):
    ordering = ("name", "id")
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 500
