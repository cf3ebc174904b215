from customer_memory.models import Customer
from interactions.models import Interaction


def interaction_timeline(customer: Customer):
    """The customer's interactions across channels with their agents, for filtering and paging by the caller.

    Newest-first paging walks the (customer, -occurred_at) index.
    """
    return Interaction.objects.filter(customer=customer).select_related("agent")
