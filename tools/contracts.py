"""Read the shopmesh contracts from the generated descriptors.

Shared by the contract tests and by tools that need the HTTP rules, access rules and
validation rules of the services without hand-kept lists.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from buf.validate import validate_pb2
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import (
    Descriptor,
    FieldDescriptor,
    MethodDescriptor,
    ServiceDescriptor,
)
from google.protobuf.message import Message
from shop.api.v1 import annotations_pb2

from mesh.roster import SERVICE_NAMES

ROOT = Path(__file__).resolve().parent.parent
GEN_DIR = ROOT / "gen"
# The services whose contracts live in proto/shop/<name>/v1: the roster, read from one place.
SERVICE_PACKAGES = SERVICE_NAMES
HTTP_VERBS = ("get", "put", "post", "delete", "patch")


@dataclass(frozen=True)
class Binding:
    """One HTTP binding of a method (the main rule or one of its additional bindings)."""

    method: MethodDescriptor
    verb: str
    path: str
    body: str
    response_body: str

    @property
    def route(self) -> tuple[str, str]:
        return (self.verb.upper(), self.path)


def _google_api_annotations() -> ModuleType:
    # googleapis-common-protos has no py.typed marker; the extension handle is all we need.
    return importlib.import_module("google.api.annotations_pb2")


def generated_module_names(gen_dir: Path = GEN_DIR) -> list[str]:
    """Every generated module under gen/, as an import name."""
    return sorted(
        ".".join(path.relative_to(gen_dir).with_suffix("").parts)
        for path in gen_dir.rglob("*_pb2*.py")
    )


def service_module(package: str) -> ModuleType:
    return importlib.import_module(f"shop.{package}.v1.{package}_pb2")


def services() -> list[ServiceDescriptor]:
    """The nine services, in the order of SERVICE_PACKAGES."""
    return [
        service
        for package in SERVICE_PACKAGES
        for service in service_module(package).DESCRIPTOR.services_by_name.values()
    ]


def methods() -> list[MethodDescriptor]:
    return [method for service in services() for method in service.methods]


def method_options(method: MethodDescriptor) -> descriptor_pb2.MethodOptions:
    options = method.GetOptions()
    assert isinstance(options, descriptor_pb2.MethodOptions)
    return options


def access_rule(method: MethodDescriptor) -> annotations_pb2.AccessRule | None:
    options = method_options(method)
    if not options.HasExtension(annotations_pb2.access):
        return None
    return options.Extensions[annotations_pb2.access]


def success_status(method: MethodDescriptor) -> int:
    """HTTP status on success: the method's `http_success_status`, 200 when unset."""
    return method_options(method).Extensions[annotations_pb2.http_success_status] or 200


def bindings(method: MethodDescriptor) -> list[Binding]:
    options = method_options(method)
    http_extension = _google_api_annotations().http
    if not options.HasExtension(http_extension):
        return []
    rule: Any = options.Extensions[http_extension]
    return [_binding(method, r) for r in (rule, *rule.additional_bindings)]


def _binding(method: MethodDescriptor, rule: Any) -> Binding:
    verb = rule.WhichOneof("pattern")
    path = rule.custom.path if verb == "custom" else getattr(rule, verb)
    custom_verb = rule.custom.kind if verb == "custom" else verb
    return Binding(method, str(custom_verb), str(path), str(rule.body), str(rule.response_body))


def field_rules(field: FieldDescriptor) -> validate_pb2.FieldRules | None:
    options = field.GetOptions()
    assert isinstance(options, descriptor_pb2.FieldOptions)
    if not options.HasExtension(validate_pb2.field):
        return None
    return options.Extensions[validate_pb2.field]


def message_rules(message: Descriptor) -> validate_pb2.MessageRules | None:
    options = message.GetOptions()
    assert isinstance(options, descriptor_pb2.MessageOptions)
    if not options.HasExtension(validate_pb2.message):
        return None
    return options.Extensions[validate_pb2.message]


def resolve_path(message: Descriptor, dotted: str, *, json: bool = False) -> FieldDescriptor:
    """The field at a dotted path of proto names (or JSON names with `json`); KeyError if none."""
    field: FieldDescriptor | None = None
    current: Descriptor | None = message
    for part in dotted.split("."):
        if current is None:
            raise KeyError(f"{dotted}: {field.name if field else ''} is not a message")
        by_name = {f.json_name if json else f.name: f for f in current.fields}
        if part not in by_name:
            raise KeyError(f"{current.full_name} has no field {part!r}")
        field = by_name[part]
        current = field.message_type
    assert field is not None
    return field


def message_class(descriptor: Descriptor) -> type[Message]:
    module = importlib.import_module(
        descriptor.file.name.removesuffix(".proto").replace("/", ".") + "_pb2"
    )
    cls = getattr(module, descriptor.name)
    assert isinstance(cls, type) and issubclass(cls, Message)
    return cls


def own_messages(message: Descriptor, seen: set[str] | None = None) -> Iterator[Descriptor]:
    """The message and every shopmesh message reachable through its fields."""
    seen = set() if seen is None else seen
    if message.full_name in seen or not message.full_name.startswith("shop."):
        return
    seen.add(message.full_name)
    yield message
    for field in message.fields:
        if field.message_type is not None:
            yield from own_messages(field.message_type, seen)
