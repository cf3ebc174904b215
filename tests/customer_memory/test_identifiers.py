import pytest

from customer_memory.identifiers import InvalidIdentifier, normalize_email, normalize_identifier, normalize_phone


@pytest.mark.parametrize(
    "written",
    ["(415) 555-0100", "415.555.0100", "+1 415 555 0100", "1-415-555-0100", "011 1 415 555 0100", "+14155550100"],
)
def test_one_us_number_written_many_ways_is_one_e164_key(written):
    assert normalize_phone(written, region="US") == "+14155550100"


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
