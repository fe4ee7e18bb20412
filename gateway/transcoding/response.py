"""Response message -> proto3 JSON with every unpopulated field emitted.

`RenderedResponses` renders the service's serialized answer and remembers the JSON by the
exact bytes: the same product, page or category list is answered with the same bytes by
the service until it changes, and parsing plus JSON rendering was about a tenth of the
gateway's CPU on such reads. Rendering is a pure function of (route, bytes), so a
remembered body is never stale; a changed product has other bytes and renders anew.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Final

from google.protobuf import json_format, message_factory
from google.protobuf.message import Message

from gateway.transcoding.routes import Route

__all__ = ["RenderedResponses", "render_response"]

# Answers larger than this are rendered each time (a big page is rarely asked twice alike).
_LARGEST_REMEMBERED: Final = 64 * 1024


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


class RenderedResponses:
    """JSON bodies of serialized answers, the most recent ones remembered up to `max_bytes`
    (answer plus body) in this process."""

    def __init__(self, max_bytes: int = 16 * 1024 * 1024) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._bodies: OrderedDict[tuple[str, bytes], bytes | None] = OrderedDict()

    @property
    def remembered_bytes(self) -> int:
        return self._bytes

    def render(self, route: Route, answer: bytes) -> bytes | None:
        """The route's JSON body for the service's serialized `answer`; None for a 204."""
        key = (route.grpc_path, answer)
        if key in self._bodies:
            self._bodies.move_to_end(key)
            return self._bodies[key]
        message = message_factory.GetMessageClass(route.method.output_type).FromString(answer)
        body = render_response(message, route.response_body, route.success_status)
        if len(answer) <= _LARGEST_REMEMBERED:
            self._remember(key, body)
        return body

    def _remember(self, key: tuple[str, bytes], body: bytes | None) -> None:
        self._bodies[key] = body
        self._bytes += _size(key, body)
        while self._bytes > self._max_bytes and self._bodies:
            old_key, old_body = self._bodies.popitem(last=False)
            self._bytes -= _size(old_key, old_body)


def _size(key: tuple[str, bytes], body: bytes | None) -> int:
    return len(key[1]) + (len(body) if body is not None else 0)
