"""HTTP request parts -> request message, following the binding's body rule.

Path variables and query parameters are gathered into one proto3-JSON-shaped tree keyed by
JSON names and parsed with `json_format`, so every scalar, enum and well-known type gets the
same conversion as in a body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from gateway.transcoding.fields import (
    STRING_FORM_TYPES,
    WRAPPER_TYPES,
    descriptor_of,
    is_map,
    is_repeated,
    message_name,
    resolve_path,
)

__all__ = ["RequestError", "build_request", "parse_json_body"]

JsonTree = dict[str, Any]


class RequestError(ValueError):
    """The HTTP request cannot become the method's request message (answered with 400)."""

    def __init__(self, description: str, field: str = "") -> None:
        super().__init__(description)
        self.description = description
        self.field = field


# No request message nests anywhere near this deep; a deeper body is an attack on the parsers
# (Python's json and protobuf's ParseDict recurse and would fail with a RecursionError).
MAX_JSON_DEPTH = 32


def parse_json_body(raw: bytes) -> object:
    if not raw.strip():
        return None
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as error:
        raise RequestError(f"request body is not valid JSON: {error.msg}") from None
    except UnicodeDecodeError:
        raise RequestError("request body is not valid UTF-8") from None
    except RecursionError:
        raise RequestError(f"request body nests deeper than {MAX_JSON_DEPTH} levels") from None
    _check_depth(body)
    return body


def _check_depth(body: object) -> None:
    """Iterative, so that checking a deep body cannot overflow the stack itself."""
    pending: list[tuple[object, str, int]] = [(body, "", 1)]
    while pending:
        value, path, depth = pending.pop()
        children: list[tuple[str, object]] = []
        if isinstance(value, dict):
            children = [(str(key), child) for key, child in value.items()]
        elif isinstance(value, list):
            children = [("", child) for child in value]
        if children and depth > MAX_JSON_DEPTH:
            # Named by the body's top-level field that holds the deep part.
            raise RequestError(f"nests deeper than {MAX_JSON_DEPTH} levels", path)
        for key, child in children:
            pending.append((child, path or (key if isinstance(value, dict) else ""), depth + 1))


def build_request(
    message: Message,
    *,
    body_rule: str,
    body: object,
    path_values: Mapping[str, str],
    query: Iterable[tuple[str, str]],
) -> Message:
    """Fill `message` (a fresh request) and return it.

    body_rule: "" (no body), "*" (all unbound fields from the body) or a field name.
    path_values: already percent-decoded values keyed by dotted field path.
    """
    descriptor = descriptor_of(message)
    if body_rule == "*":
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise RequestError("request body must be a JSON object")
        _parse_into(body, message, "")
    elif body_rule and body is not None:
        body_field = descriptor.fields_by_name[body_rule]
        _parse_into({body_field.json_name: body}, message, body_rule)

    tree: JsonTree = {}
    bound: list[str] = []
    for dotted, value in path_values.items():
        chain = _chain_or_fail(descriptor, dotted, "path variable")
        _assign(tree, chain, value, dotted)
        bound.append(_proto_path(chain))
    if body_rule:
        bound.append(body_rule)
    for name, value in query:
        found = resolve_path(descriptor, name)
        if found is None or body_rule == "*" or _is_bound(_proto_path(found), bound):
            raise RequestError(f"unknown query parameter {name!r}", name)
        if value == "" and not _textual(found[-1]):
            # `?pageSize=` (an empty form field) means "not given", as for a string.
            continue
        _assign(tree, found, value, name)
    if tree:
        overlay = type(message)()
        _parse_into(tree, overlay, "")
        # Path values win over anything the body said about the same field.
        message.MergeFrom(overlay)
    return message


def _parse_into(tree: Any, message: Message, field: str) -> None:
    try:
        json_format.ParseDict(tree, message)
    except json_format.ParseError as error:
        raise RequestError(str(error), field) from None


def _chain_or_fail(descriptor: Descriptor, dotted: str, what: str) -> tuple[FieldDescriptor, ...]:
    chain = resolve_path(descriptor, dotted)
    if chain is None:
        # A template naming a missing field is a contract bug, caught when routes are built.
        raise RequestError(f"unknown {what} {dotted!r}", dotted)
    return chain


def _proto_path(chain: tuple[FieldDescriptor, ...]) -> str:
    return ".".join(field.name for field in chain)


def _is_bound(path: str, bound: list[str]) -> bool:
    return any(path == b or path.startswith(b + ".") or b.startswith(path + ".") for b in bound)


def _assign(tree: JsonTree, chain: tuple[FieldDescriptor, ...], raw: str, name: str) -> None:
    node = tree
    for field in chain[:-1]:
        if is_repeated(field) or message_name(field) in STRING_FORM_TYPES | WRAPPER_TYPES:
            raise RequestError(f"parameter {name!r} cannot address inside {field.name!r}", name)
        child = node.setdefault(field.json_name, {})
        if not isinstance(child, dict):
            raise RequestError(f"parameter {name!r} conflicts with another parameter", name)
        node = child
    leaf = chain[-1]
    value = _leaf_value(leaf, raw, name)
    if is_repeated(leaf):
        existing = node.setdefault(leaf.json_name, [])
        if not isinstance(existing, list):
            raise RequestError(f"parameter {name!r} conflicts with another parameter", name)
        existing.append(value)
    elif leaf.json_name in node:
        raise RequestError(f"parameter {name!r} is not repeated but was given twice", name)
    else:
        node[leaf.json_name] = value


def _leaf_value(field: FieldDescriptor, raw: str, name: str) -> object:
    if is_map(field):
        raise RequestError(f"map parameter {name!r} must be sent in a body", name)
    full_name = message_name(field)
    if full_name is not None:
        if full_name in STRING_FORM_TYPES or full_name == "google.protobuf.Value":
            return raw
        if full_name in WRAPPER_TYPES:
            return _scalar(_wrapped_field(field), raw, name)
        raise RequestError(
            f"parameter {name!r} names a message; set its fields as {name}.<field>", name
        )
    return _scalar(field, raw, name)


def _scalar(field: FieldDescriptor, raw: str, name: str) -> object:
    if field.type == FieldDescriptor.TYPE_BOOL:
        lowered = raw.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise RequestError(f"parameter {name!r} must be true or false", name)
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses (a 500 before).
    if field.type == FieldDescriptor.TYPE_ENUM and re.fullmatch(r"-?[0-9]+", raw):
        return int(raw)
    # Integers, floats, strings, bytes (base64) and enum names: proto3 JSON accepts strings.
    return raw


def _wrapped_field(wrapper: FieldDescriptor) -> FieldDescriptor:
    wrapper_type = wrapper.message_type
    assert wrapper_type is not None
    return wrapper_type.fields_by_name["value"]


def _textual(field: FieldDescriptor) -> bool:
    """Whether an empty string is a value of this field (strings and bytes, also wrapped)."""
    if message_name(field) in WRAPPER_TYPES:
        field = _wrapped_field(field)
    return field.type in (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES)
