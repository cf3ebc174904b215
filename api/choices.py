from django.db import models


class AccessAction(models.TextChoices):
    CARD = "card", "Read the card"
    TIMELINE = "timeline", "Read the timeline"
    IDENTITY = "identity", "Read identifiers and merges"
    EXPORT = "export", "Exported personal data"
    ERASE = "erase", "Erased personal data"
    ADMIN = "admin", "Opened the admin customer page"
