import pytest

from channels_ingest.normalizers import NormalizationError
from channels_ingest.normalizers.connect import delivery_key, normalize
from tests.channels import delivery, fixture_json


def test_an_answered_contact_record_names_the_agent_queue_duration_and_reason():
    event = normalize(fixture_json("connect/ctr_answered.json"), delivery("connect"))
    assert event.external_id == "5c1d8a7e-3b2f-4e6d-9a0b-1c2d3e4f5a6b" and event.channel == "voice"
    assert event.agent.name == "dave.okafor" and event.agent.external_id.startswith("arn:aws:connect")
    assert event.attributes["duration_seconds"] == 720 and event.attributes["queue"] == "CardSupport"
    assert event.summary == "Call with an agent, 12 min 0 s — Card payment failed"
    assert [m["text"] for m in event.messages][1] == "Hi, my card payment failed this morning."


def test_each_published_version_of_a_record_is_a_delivery_ordered_by_its_last_update():
    record = fixture_json("connect/ctr_answered.json")
    later = {**record, "LastUpdateTimestamp": "2026-11-21T11:00:00Z"}
    assert delivery_key(record) != delivery_key(later)
    assert normalize(later, delivery()).revision > normalize(record, delivery()).revision


def test_an_abandoned_contact_has_no_agent_and_says_where_it_was_left():
    event = normalize(fixture_json("connect/ctr_abandoned_in_queue.json"), delivery())
    assert event.agent is None and event.attributes["outcome"] == "abandoned"


def test_a_chat_contact_is_on_the_chat_channel_and_a_task_is_not_a_customer_contact():
    record = fixture_json("connect/ctr_answered.json")
    assert normalize({**record, "Channel": "CHAT"}, delivery()).channel == "chat"
    with pytest.raises(NormalizationError, match="Channel: 'TASK' is not a customer contact"):
        normalize({**record, "Channel": "TASK"}, delivery())


def test_a_record_without_a_customer_endpoint_or_identifying_attribute_fails():
    record = {**fixture_json("connect/ctr_abandoned_in_queue.json"), "CustomerEndpoint": None}
    with pytest.raises(NormalizationError, match="CustomerEndpoint: no customer phone or email"):
        normalize(record, delivery())


def test_a_withheld_caller_id_is_identified_by_the_account_the_flow_collected():
    record = fixture_json("connect/ctr_answered.json")
    record["CustomerEndpoint"] = {"Address": "anonymous", "Type": "TELEPHONE_NUMBER"}
    event = normalize(record, delivery())
    assert [(i.kind, i.value) for i in event.identifiers] == [("account", "A-1001")]
