from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ValidationError

from api import access_log
from api.choices import AccessAction
from api.scopes import Scope
from api.serializers.card import CardSerializer
from api.views.lean import LeanApiView, wants_text
from customer_memory.card import card_text
from customer_memory.card_cache import card_for_customer_id, card_for_identifiers
from customer_memory.selectors import LOOKUP_PARAMETERS
from interactions.choices import Channel

CARD_PARAMETERS = [
    OpenApiParameter(
        "channel",
        OpenApiTypes.STR,
        enum=Channel.values,
        description="The channel the customer is on now (default: guessed from the lookup, e.g. phone → voice). "
        "A recent last contact on another channel adds the continuation of the channel switch.",
    ),
    OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "text"], description="text: the card as sentences"),
]


def _channel(request) -> str | None:
    channel = request.GET.get("channel") or None
    if channel and channel not in Channel.values:
        raise ValidationError({"channel": [f"{channel!r} is not a channel (one of {', '.join(Channel.values)})"]})
    return channel


def _answer(request, card: dict) -> dict | str:
    if card.get("known"):
        access_log.record_read(request, card["customer"]["id"], AccessAction.CARD, client=request.auth)
    return card_text(card) if wants_text(request) else card


# Both card views are lean (api/views/lean.py): the card is the hot path of the agent desk.


class CardByIdentifierApi(LeanApiView):
    """The context card of whoever holds this phone, email, account, handle or web id.

    An unknown identifier is not an error: it answers 200 with `known: false` and empty lists.
    """

    required_scope = Scope.CARD_READ

    @extend_schema(
        parameters=[
            OpenApiParameter(name, OpenApiTypes.STR, description=f"{kind.label}")
            for name, kind in LOOKUP_PARAMETERS.items()
        ]
        + CARD_PARAMETERS,
        responses=CardSerializer,
    )
    def get(self, request):
        given = [(kind, request.GET[name]) for name, kind in LOOKUP_PARAMETERS.items() if request.GET.get(name)]
        if not given:
            raise ValidationError({"detail": f"give one identifier to look up: {', '.join(LOOKUP_PARAMETERS)}"})
        return _answer(request, card_for_identifiers(given, channel=_channel(request)))


class CustomerCardApi(LeanApiView):
    """The context card of a customer by id; a merged-away id answers with the survivor's card."""

    required_scope = Scope.CARD_READ

    @extend_schema(parameters=CARD_PARAMETERS, responses=CardSerializer)
    def get(self, request, customer_id):
        card = card_for_customer_id(customer_id, channel=_channel(request))
        if card is None:
            raise NotFound(f"no customer with id {customer_id}")
        return _answer(request, card)
