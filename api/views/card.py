import functools

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ValidationError

from api import access_log
from api.choices import AccessAction
from api.scopes import Scope
from api.serializers.card import CardSerializer
from api.views.lean import LeanApiView, wants_text
from customer_memory.card import card_text
from customer_memory.card_cache import SameTrip, card_for_customer_id, card_for_identifiers
from customer_memory.redis_cache import cache_redis
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


class CardApi(LeanApiView):
    """A card view: the throttle count, the warm card and its access-log entry in one Redis round trip
    (customer_memory.card_cache.SameTrip) when the cache is Redis; the lean view's steps one by one without."""

    required_scope = Scope.CARD_READ
    counts_itself = True

    def _trip(self, request) -> SameTrip | None:
        if cache_redis() is None:
            self._throttle.allow_request(request, self)
            return None
        window = self._throttle.window(request, self)
        if window is None:
            return None
        log_key, head, tail = access_log.buffered_entry(request, AccessAction.CARD, client=request.auth) or (
            "",
            b"",
            b"",
        )
        return SameTrip(
            counter_key=window.key,
            counter_timeout=window.timeout,
            limit=window.limit,
            over_limit=functools.partial(self._throttle.check, window),
            log_key=log_key,
            entry_head=head,
            entry_tail=tail,
        )

    def _channel(self, request) -> str | None:
        try:
            return _channel(request)
        except ValidationError:
            self._throttle.allow_request(request, self)  # a bad request counts, as every request does
            raise

    def _answer(self, request, card: dict | None, trip: SameTrip | None) -> dict | str:
        if trip is not None and trip.count is None:
            # Nothing was looked up in Redis (no valid lookup value or id): count the request now.
            self._throttle.allow_request(request, self)
        if card is None:
            raise NotFound(f"no customer with id {self.kwargs.get('customer_id')}")
        if card.get("known"):
            if trip is not None and trip.logged is not None:
                access_log.appended(trip.logged)
            else:
                access_log.record_read(request, card["customer"]["id"], AccessAction.CARD, client=request.auth)
        return card_text(card) if wants_text(request) else card


# Both card views are lean (api/views/lean.py): the card is the hot path of the agent desk.


class CardByIdentifierApi(CardApi):
    """The context card of whoever holds this phone, email, account, handle or web id.

    An unknown identifier is not an error: it answers 200 with `known: false` and empty lists.
    """

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
            self._throttle.allow_request(request, self)
            raise ValidationError({"detail": f"give one identifier to look up: {', '.join(LOOKUP_PARAMETERS)}"})
        channel = self._channel(request)
        trip = self._trip(request)
        return self._answer(request, card_for_identifiers(given, channel=channel, trip=trip), trip)


class CustomerCardApi(CardApi):
    """The context card of a customer by id; a merged-away id answers with the survivor's card."""

    @extend_schema(parameters=CARD_PARAMETERS, responses=CardSerializer)
    def get(self, request, customer_id):
        channel = self._channel(request)
        trip = self._trip(request)
        return self._answer(request, card_for_customer_id(customer_id, channel=channel, trip=trip), trip)
