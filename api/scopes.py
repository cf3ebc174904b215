"""The scopes of DESIGN.md (contract): what an API client may do."""

from django.db import models


class Scope(models.TextChoices):
    INGEST = "ingest", "Send events of every channel"
    # A channel system needs only its own channel: a leaked Twilio token cannot post emails or chats.
    INGEST_WEB = "ingest:web", "Send web events (Segment, canonical web events)"
    INGEST_VOICE = "ingest:voice", "Send voice events (Twilio, Amazon Connect, canonical voice events)"
    INGEST_EMAIL = "ingest:email", "Send email events (raw and inbound-parse email, canonical email events)"
    INGEST_CHAT = "ingest:chat", "Send chat events (chat endpoint, canonical chat events)"
    CARD_READ = "card:read", "Read context cards"
    TIMELINE_READ = "timeline:read", "Read timelines"
    AGENTS_WRITE = "agents:write", "Write agents, handovers and promises"
    IDENTITY_ADMIN = "identity:admin", "Administer identity (merges)"
    PRIVACY_ADMIN = "privacy:admin", "Export and erase personal data"
    ALL = "all", "Every scope"


# The channel each per-channel ingest scope admits (channel names of interactions.choices.Channel).
INGEST_CHANNEL_SCOPES = {
    Scope.INGEST_WEB: "web",
    Scope.INGEST_VOICE: "voice",
    Scope.INGEST_EMAIL: "email",
    Scope.INGEST_CHAT: "chat",
}
