"""The benchmark's people: names and addresses with the spread of a real customer base.

Linking cost and lock contention depend on how often values repeat: with a handful of names every blocking
key holds thousands of customers and every batch of events shares keys with every other. Here given names and
surnames follow the US census frequencies that Faker ships (Smith 2 %, a long tail after it) for a little over
half the people, and come uniformly from other countries' lists (Mexican, German, Italian, French, Indian)
for the rest; addresses spread over 10,000 postcodes in 1,000 towns. Deterministic: person `index` always has
the same name and address.
"""

import bisect
import itertools
import random
from functools import cache

from faker.providers.address.it_IT import Provider as ItalianAddress
from faker.providers.address.nl_NL import Provider as DutchAddress
from faker.providers.person.de_DE import Provider as German
from faker.providers.person.en_IN import Provider as Indian
from faker.providers.person.en_US import Provider as American
from faker.providers.person.es_MX import Provider as Mexican
from faker.providers.person.fr_FR import Provider as French
from faker.providers.person.it_IT import Provider as Italian

OTHER_COUNTRIES = (Mexican, German, Italian, French, Indian)
US_SHARE = 0.55
STREET_KINDS = ("Street", "Road", "Avenue", "Lane", "Close", "Way")


def _table(weighted: dict[str, float], others: list[str]) -> tuple[list[str], list[float]]:
    """Names and their cumulative probabilities: the weighted ones scaled to US_SHARE, the others uniform."""
    others = sorted(set(others) - weighted.keys())
    total = sum(weighted.values())
    probabilities = [US_SHARE * w / total for w in weighted.values()]
    probabilities += [(1 - US_SHARE) / len(others)] * len(others)
    return [*weighted, *others], list(itertools.accumulate(probabilities))


@cache
def _tables():
    given = _table(American.first_names, [n for country in OTHER_COUNTRIES for n in country.first_names if n.isalpha()])
    surnames = _table(
        American.last_names, [n for country in OTHER_COUNTRIES for n in country.last_names if n.isalpha()]
    )
    towns = sorted({t for t in (*ItalianAddress.cities, *DutchAddress.cities) if t.replace(" ", "").isalpha()})
    return given, surnames, random.Random(7).sample(towns, 1000)


def _pick(table: tuple[list[str], list[float]], u: float) -> str:
    names, cumulative = table
    return names[min(len(names) - 1, bisect.bisect(cumulative, u * cumulative[-1]))]


def person(index: int) -> tuple[str, str]:
    """(given name, surname) of person `index`."""
    given, surnames, _ = _tables()
    rng = random.Random(index)
    return _pick(given, rng.random()), _pick(surnames, rng.random())


def address(index: int) -> dict:
    """A postal address of person `index`: {"line1", "city", "postcode"}."""
    _, surnames, towns = _tables()
    rng = random.Random(-index - 1)
    postcode = rng.randrange(10_000)
    street = f"{_pick(surnames, rng.random())} {STREET_KINDS[postcode % len(STREET_KINDS)]}"
    return {"line1": f"{rng.randrange(1, 300)} {street}", "city": towns[postcode // 10], "postcode": f"{postcode:05d}"}
