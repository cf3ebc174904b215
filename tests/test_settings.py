import pytest
from django.core.exceptions import ImproperlyConfigured

from customer_memory.settings import env_bool, env_int


@pytest.mark.parametrize("raw, expected", [("1", True), ("yes", True), ("off", False), ("", False)])
def test_booleans_read_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("SOME_FLAG", raw)
    assert env_bool("SOME_FLAG", default=False) is expected


def test_a_boolean_that_is_neither_yes_nor_no_is_a_configuration_error(monkeypatch):
    monkeypatch.setenv("DEBUG_LIKE", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG_LIKE must be true or false"):
        env_bool("DEBUG_LIKE", default=False)


def test_a_number_that_is_not_one_is_a_configuration_error(monkeypatch):
    monkeypatch.setenv("SOME_COUNT", "ten")
    with pytest.raises(ImproperlyConfigured, match="SOME_COUNT must be a whole number, not 'ten'"):
        env_int("SOME_COUNT", default=5)


@pytest.mark.parametrize("raw", ["1.5", "0", "high"])
def test_an_identity_threshold_must_be_a_probability(monkeypatch, raw):
    from customer_memory.settings import env_probability

    monkeypatch.setenv("SOME_THRESHOLD", raw)
    with pytest.raises(ImproperlyConfigured, match="SOME_THRESHOLD must be"):
        env_probability("SOME_THRESHOLD", default=0.9)
