"""Evidence normalizers: one person's phone, email, name, date or address written two ways meets itself."""

import pytest

from customer_memory.identifiers import normalize_phone
from customer_memory.identity.normalize import (
    dob_key,
    email_match_key,
    fold,
    given_name_key,
    identifier_match_key,
    phone_match_key,
    postcode_key,
    split_full_name,
    street_key,
    surname_key,
)
from customer_memory.selectors import customer_by_identifier
from tests.personas import miles_call


@pytest.mark.parametrize(
    "old, new",
    [
        ("+55 11 8765-4321", "+55 11 98765-4321"),  # Brazil: mobiles gained a leading 9
        ("+52 1 55 1234 5678", "+52 55 1234 5678"),  # Mexico: the "1" after +52 was dropped in 2019
        ("+54 9 11 2345-6789", "+54 11 2345-6789"),  # Argentina: 9 marks a mobile dialled from abroad
    ],
)
def test_national_variants_of_one_number_share_a_match_key(old, new):
    assert phone_match_key(normalize_phone(old)) == phone_match_key(normalize_phone(new))


def test_a_brazilian_landline_keeps_its_eight_digits():
    # Landlines start with 2–5 and never gained the 9: adding one would make another number.
    assert phone_match_key("+551133334444") == "+551133334444"


def test_different_numbers_keep_different_keys():
    assert phone_match_key("+5511987654321") != phone_match_key("+5511987654322")
    assert phone_match_key("+14155550100") == "+14155550100"


@pytest.mark.django_db
def test_a_desk_finds_a_brazilian_caller_by_the_old_form_of_the_number(ingest):
    ingest(miles_call(customer={"phone": "+55 11 98765-4321"}))

    found = customer_by_identifier("phone", "+55 11 8765-4321")

    assert found is not None and found.identifiers.get().value == "+5511987654321"


@pytest.mark.django_db
def test_a_mexican_number_with_and_without_the_1_is_one_customer(ingest):
    ingest(
        miles_call(external_id="mx-1", customer={"phone": "+52 1 55 1234 5678"}),
        miles_call(external_id="mx-2", customer={"phone": "+52 55 1234 5678"}),
    )

    found = customer_by_identifier("phone", "+525512345678")

    assert found is not None and found.interactions.count() == 2


def test_email_provider_rules_are_off_by_default(settings):
    assert email_match_key("Miles.Reed+shop@Gmail.com") == "miles.reed+shop@gmail.com"


def test_email_provider_rules_drop_gmail_dots_and_tags_when_on(settings):
    settings.IDENTITY_EMAIL_PROVIDER_RULES = True

    assert email_match_key("Miles.Reed+shop@googlemail.com") == "milesreed@gmail.com"
    assert email_match_key("miles+x@outlook.com") == "miles@outlook.com"
    # A company's own domain may route "+tags" to other mailboxes: left alone.
    assert email_match_key("sales+eu@example.com") == "sales+eu@example.com"
    assert identifier_match_key("email", "m.r@gmail.com") == "mr@gmail.com"


def test_names_fold_accents_case_and_punctuation():
    assert fold("  Zoë  O'Neil-Smith ") == "zoe oneil smith"
    assert surname_key("Mac Donald") == surname_key("MACDONALD") == "macdonald"
    assert surname_key("Díaz") == "diaz"


@pytest.mark.parametrize("nickname", ["Bob", "rob", "Bobby", "ROBERT"])
def test_common_nicknames_read_as_the_formal_given_name(nickname):
    assert given_name_key(nickname) == "robert"


def test_a_full_name_splits_into_given_name_and_surname_without_titles():
    assert split_full_name("Dr. Miles A. Reed Jr") == ("miles", "reed")
    assert split_full_name("Cher") == ("cher", "")
    assert split_full_name("Sir Edmund Giles Loder, 2nd Baronet") == ("edmund", "loder")


def test_titles_suffixes_and_ordinals_in_the_name_fields_are_not_names():
    assert given_name_key("Sir") == given_name_key("1st") == ""
    assert given_name_key("Sir William") == given_name_key("Dr. Bill") == "william"
    assert surname_key("Bt.") == surname_key("2nd Baronet") == ""
    assert surname_key("Reed Jr") == "reed"
    assert surname_key("of") == "" and surname_key("Clifford of Chudleigh") == "cliffordchudleigh"
    # A surname that is also a title before a name stays a surname.
    assert surname_key("Lord") == "lord"


@pytest.mark.parametrize("written", ["1985-03-14", "19850314", "1985-03-14T00:00:00"])
def test_dates_of_birth_become_iso_dates(written):
    assert dob_key(written) == "1985-03-14"


def test_an_impossible_date_of_birth_is_no_evidence():
    assert dob_key("1985-02-30") == ""
    assert dob_key("unknown") == ""


def test_postcodes_and_streets_are_compared_in_one_form():
    assert postcode_key("eh6 6qw") == postcode_key("EH66QW") == "EH66QW"
    assert street_key("12 Harbour Street") == street_key("12, harbour st.") == "12 harbour st"


def test_a_street_type_glued_to_the_name_is_split_off():
    assert street_key("75 Woronorastreet") == street_key("75 woronora st") == "75 woronora st"
    assert street_key("4 farrerplace") == "4 farrer pl"
    # Too short a name before it to be a glued type: a word of its own.
    assert street_key("2 Enclose Rd") == "2 enclose rd"
    assert street_key("Place") == "pl"
