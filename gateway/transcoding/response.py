"""Response message -> proto3 JSON with every unpopulated field emitted."""

from __future__ import annotations

import json

from google.protobuf import json_format
from google.protobuf.message import Message

__all__ = ["render_response"]


def render_response(message: Message, response_body: str, success_status: int) -> bytes | None:
    """The JSON body, or None for a 204."""
    if success_status == 204:
        return None
    tree = json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
    payload: object = tree
    if response_body:
        field = message.DESCRIPTOR.fields_by_name[response_body]
        payload = tree.get(field.json_name)
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
