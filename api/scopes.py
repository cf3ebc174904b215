"""The scopes of DESIGN.md (contract): what an API client may do."""

from django.db import models


class Scope(models.TextChoices):
    INGEST = "ingest", "Send events"
    CARD_READ = "card:read", "Read context cards"
    TIMELINE_READ = "timeline:read", "Read timelines"
    AGENTS_WRITE = "agents:write", "Write agents, handovers and promises"
    IDENTITY_ADMIN = "identity:admin", "Administer identity (merges)"
    PRIVACY_ADMIN = "privacy:admin", "Export and erase personal data"
    ALL = "all", "Every scope"
