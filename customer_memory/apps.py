from django.apps import AppConfig


class CustomerMemoryConfig(AppConfig):
    name = "customer_memory"
    verbose_name = "Customers and identity"

    def ready(self):
        # Connects the receivers that invalidate cached cards when anything feeding them changes.
        from customer_memory import card_cache  # noqa: F401
