from django.apps import AppConfig


class CustomerMemoryConfig(AppConfig):
    name = "customer_memory"
    verbose_name = "Customers and identity"
