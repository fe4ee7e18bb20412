"""Validation rules: present where the contract promises them, and compilable by protovalidate."""

from __future__ import annotations

import protovalidate
import pytest
from buf.validate import validate_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from shop.common.v1 import common_pb2

from tools import contracts

REQUESTS = sorted(
    {m.input_type.full_name: m.input_type for m in contracts.methods()}.values(),
    key=lambda d: d.full_name,
)
REQUEST_IDS = [d.full_name for d in REQUESTS]


def _is_id(field: FieldDescriptor) -> bool:
    return field.name in ("id", "ids") or field.name.endswith("_id")


def _rules(message: Descriptor, name: str) -> validate_pb2.FieldRules:
    rules = contracts.field_rules(message.fields_by_name[name])
    assert rules is not None, f"{message.full_name}.{name} has no buf.validate rule"
    return rules


@pytest.mark.parametrize("request_type", REQUESTS, ids=REQUEST_IDS)
def test_every_id_in_a_request_is_validated(request_type: Descriptor) -> None:
    for message in contracts.own_messages(request_type):
        for field in message.fields:
            if _is_id(field) and field.type == FieldDescriptor.TYPE_STRING:
                rules = _rules(message, field.name)
                assert rules.HasField("string") or rules.HasField("repeated"), field.full_name


@pytest.mark.parametrize("request_type", REQUESTS, ids=REQUEST_IDS)
def test_rules_compile_and_an_empty_request_is_judged(request_type: Descriptor) -> None:
    # Raises CompilationError for a rule protovalidate cannot compile.
    protovalidate.collect_violations(contracts.message_class(request_type)())


@pytest.mark.parametrize("request_type", REQUESTS, ids=REQUEST_IDS)
def test_pages_are_bounded(request_type: Descriptor) -> None:
    if "page_size" in request_type.fields_by_name:
        rules = _rules(request_type, "page_size")
        assert rules.int32.gte == 0 and rules.int32.lte == 100
        assert _rules(request_type, "page_token").string.max_len > 0


def test_quantities_ratings_and_money_are_bounded() -> None:
    for request_type in REQUESTS:
        for message in contracts.own_messages(request_type):
            if message.full_name.startswith("shop.common."):
                continue
            for field in message.fields:
                if field.name == "quantity":
                    rules = _rules(message, "quantity")
                    assert (rules.int32.gte, rules.int32.lte) == (1, 99), field.full_name
                if field.name == "rating":
                    rules = _rules(message, "rating")
                    assert (rules.int32.gte, rules.int32.lte) == (1, 5), field.full_name
    money = common_pb2.Money.DESCRIPTOR
    assert _rules(money, "currency_code").string.pattern == "^[A-Z]{3}$"
    assert _rules(money, "units").int64.gte == 0
    assert _rules(money, "nanos").int32.gte == 0


@pytest.mark.parametrize(
    ("message", "valid"),
    [
        (common_pb2.Money(currency_code="USD", units=12, nanos=990_000_000), True),
        (common_pb2.Money(currency_code="usd", units=12), False),
        (common_pb2.Money(currency_code="USD", units=-1), False),
        (
            common_pb2.Address(
                name="Ada", line1="1 Main St", city="Springfield", country_code="US"
            ),
            True,
        ),
        (common_pb2.Address(name="Ada", line1="1 Main St", city="X", country_code="usa"), False),
    ],
)
def test_shared_messages_validate(
    message: common_pb2.Money | common_pb2.Address, valid: bool
) -> None:
    assert (protovalidate.collect_violations(message) == []) is valid
