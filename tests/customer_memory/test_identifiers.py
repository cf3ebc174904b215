import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from customer_memory.identifiers import (
    NANP_E164,
    InvalidIdentifier,
    normalize_email,
    normalize_identifier,
    normalize_phone,
)


@pytest.mark.parametrize(
    "written",
    ["(415) 555-0100", "415.555.0100", "+1 415 555 0100", "1-415-555-0100", "011 1 415 555 0100", "+14155550100"],
)
def test_one_us_number_written_many_ways_is_one_e164_key(written):
    assert normalize_phone(written, region="US") == "+14155550100"


@given(
    digits=st.text(alphabet="0123456789", min_size=10, max_size=10).filter(lambda d: d[0] not in "01"),
    region=st.sampled_from(["US", "GB", "MX", "FR", "CA"]),
)
def test_the_north_american_e164_shortcut_agrees_with_phonenumbers(digits, region):
    text = f"+1{digits}"
    assert NANP_E164.fullmatch(text)
    parsed = phonenumbers.parse(text, region)
    assert phonenumbers.is_possible_number(parsed)
    assert normalize_phone(text, region=region) == phonenumbers.format_number(
        parsed, phonenumbers.PhoneNumberFormat.E164
    )


@pytest.mark.parametrize("almost", ["+11234567890", "+1312555012", "+131255501234", "+0312555012", "+1 3125550123"])
def test_numbers_near_the_north_american_shape_take_the_full_parse(almost):
    assert not NANP_E164.fullmatch(almost)


def test_national_numbers_are_read_in_the_configured_region(settings):
    settings.PHONE_DEFAULT_REGION = "GB"
    assert normalize_phone("0131 496 0000") == "+441314960000"


@pytest.mark.parametrize("garbage", ["anonymous", "12", "", "+1 415 555 0100 0100 0100"])
def test_what_cannot_be_a_phone_number_is_refused_with_the_reason(garbage):
    with pytest.raises(InvalidIdentifier, match="phone number"):
        normalize_phone(garbage)


def test_email_addresses_are_case_folded():
    assert normalize_email("  Miles.Reed@Example.COM ") == "miles.reed@example.com"


def test_an_email_without_a_domain_is_refused():
    with pytest.raises(InvalidIdentifier, match="not an email address"):
        normalize_email("miles@")


def test_account_ids_are_kept_exactly_but_trimmed():
    assert normalize_identifier("account", "  A-1001 ") == "A-1001"


def test_an_unknown_identifier_kind_is_refused():
    with pytest.raises(InvalidIdentifier, match="unknown identifier kind"):
        normalize_identifier("passport", "X1")
