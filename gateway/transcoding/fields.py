"""Field lookup by proto or JSON name, and the well-known types that have a string form."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Final, cast

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

__all__ = [
    "STRING_FORM_TYPES",
    "WRAPPER_TYPES",
    "descriptor_of",
    "fields_by_any_name",
    "is_map",
    "is_repeated",
    "message_name",
    "resolve_path",
]

# Well-known message types whose proto3 JSON form is a string, so a query parameter or a
# path variable can carry them whole.
STRING_FORM_TYPES: Final = frozenset(
    {
        "google.protobuf.Timestamp",
        "google.protobuf.Duration",
        "google.protobuf.FieldMask",
    }
)
WRAPPER_TYPES: Final = frozenset(
    {
        "google.protobuf.DoubleValue",
        "google.protobuf.FloatValue",
        "google.protobuf.Int64Value",
        "google.protobuf.UInt64Value",
        "google.protobuf.Int32Value",
        "google.protobuf.UInt32Value",
        "google.protobuf.BoolValue",
        "google.protobuf.StringValue",
        "google.protobuf.BytesValue",
    }
)


@cache
def fields_by_any_name(message: Descriptor) -> Mapping[str, FieldDescriptor]:
    """Both `page_size` and `pageSize` find the field (clients may use either)."""
    names: dict[str, FieldDescriptor] = {}
    for field in message.fields:
        names[field.name] = field
        names[field.json_name] = field
    return names


def message_name(field: FieldDescriptor) -> str | None:
    """Full name of a message-typed field's type, None for scalars and enums."""
    if field.type != FieldDescriptor.TYPE_MESSAGE or field.message_type is None:
        return None
    return str(field.message_type.full_name)


def descriptor_of(message: Message) -> Descriptor:
    return cast(Descriptor, message.DESCRIPTOR)


def is_map(field: FieldDescriptor) -> bool:
    entry = field.message_type if message_name(field) else None
    return entry is not None and bool(entry.GetOptions().map_entry)


def is_repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def resolve_path(message: Descriptor, dotted: str) -> tuple[FieldDescriptor, ...] | None:
    """The chain of fields a dotted path names (any name form); None when it names nothing."""
    chain: list[FieldDescriptor] = []
    current: Descriptor | None = message
    for part in dotted.split("."):
        if current is None:
            return None
        field = fields_by_any_name(current).get(part)
        if field is None:
            return None
        chain.append(field)
        current = field.message_type if message_name(field) else None
    return tuple(chain)
