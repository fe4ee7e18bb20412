"""OpenAPI 3.1 built from the same routes the gateway serves (never hand-written).

One operation per HTTP binding; path, query and body parameters split as the binding's
rule says; message schemas in `components` with `buf.validate` rules as JSON Schema keywords;
the contracts' doc comments (`make gen` keeps them in `comments.json` next to the generated
code) as the descriptions of operations, schemas, properties and parameters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from typing import Any, Final

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

from gateway.transcoding.fields import (
    STRING_FORM_TYPES,
    WRAPPER_TYPES,
    is_map,
    is_repeated,
    message_name,
    resolve_path,
)
from gateway.transcoding.routes import Route

__all__ = ["build_openapi", "contract_comments"]

Schema = dict[str, Any]

_STATUS_REF: Final = "#/components/schemas/google.rpc.Status"
_MAX_QUERY_DEPTH: Final = 3
# What the gateway accepts in an Idempotency-Key header: 1-255 visible ASCII characters.
_IDEMPOTENCY_KEY_PATTERN: Final = "^[\\x21-\\x7e]{1,255}$"
# Message types with no string form cannot be query parameters.
_NOT_IN_QUERY: Final = frozenset(
    {"google.protobuf.Any", "google.protobuf.Struct", "google.protobuf.ListValue"}
)
_QUERY_LEAF_TYPES: Final = STRING_FORM_TYPES | WRAPPER_TYPES | {"google.protobuf.Value"}

_SCALARS: Final[dict[int, Schema]] = {
    FieldDescriptor.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number", "format": "float"},
    FieldDescriptor.TYPE_INT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SINT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_UINT32: {"type": "integer", "format": "int64", "minimum": 0},
    FieldDescriptor.TYPE_FIXED32: {"type": "integer", "format": "int64", "minimum": 0},
    # 64-bit integers are strings in proto3 JSON (JavaScript numbers lose precision).
    FieldDescriptor.TYPE_INT64: {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
    FieldDescriptor.TYPE_SINT64: {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
    FieldDescriptor.TYPE_SFIXED64: {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
    FieldDescriptor.TYPE_UINT64: {"type": "string", "format": "uint64", "pattern": "^[0-9]+$"},
    FieldDescriptor.TYPE_FIXED64: {"type": "string", "format": "uint64", "pattern": "^[0-9]+$"},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
}

_WELL_KNOWN: Final[dict[str, Schema]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]{1,9})?s$"},
    "google.protobuf.FieldMask": {
        "type": "string",
        "description": "Comma-separated lowerCamelCase field paths.",
    },
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Empty": {"type": "object", "additionalProperties": False},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "required": ["@type"],
        "additionalProperties": True,
    },
    "google.protobuf.DoubleValue": {"type": ["number", "null"], "format": "double"},
    "google.protobuf.FloatValue": {"type": ["number", "null"], "format": "float"},
    "google.protobuf.Int64Value": {"type": ["string", "null"], "format": "int64"},
    "google.protobuf.UInt64Value": {"type": ["string", "null"], "format": "uint64"},
    "google.protobuf.Int32Value": {"type": ["integer", "null"], "format": "int32"},
    "google.protobuf.UInt32Value": {"type": ["integer", "null"], "format": "int64"},
    "google.protobuf.BoolValue": {"type": ["boolean", "null"]},
    "google.protobuf.StringValue": {"type": ["string", "null"]},
    "google.protobuf.BytesValue": {"type": ["string", "null"], "contentEncoding": "base64"},
}

_STATUS_SCHEMA: Final[Schema] = {
    "type": "object",
    "description": "google.rpc.Status: every error answer has this shape.",
    "properties": {
        "code": {"type": "integer", "format": "int32", "description": "gRPC status code."},
        "message": {"type": "string"},
        "details": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/google.protobuf.Any"},
        },
    },
    "required": ["code", "message", "details"],
}


def contract_comments(package: str = "shop") -> dict[str, str]:
    """Doc comments of the generated contracts by full name (empty when `make gen` wrote none)."""
    try:
        text = (resources.files(package) / "comments.json").read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    comments = json.loads(text)
    return {str(name): str(comment) for name, comment in comments.items()}


def build_openapi(
    routes: Sequence[Route],
    *,
    comments: Mapping[str, str] | None = None,
    title: str = "shopmesh API",
    version: str = "v1",
) -> dict[str, Any]:
    """`comments`: doc comments by full proto name (`contract_comments()`), for descriptions."""
    schemas = _Schemas(comments or {})
    names = _PathNames(routes)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        path = paths.setdefault(names.path(route), {})
        path[route.http_method.lower()] = _operation(route, schemas, names.names(route))
    components = {
        "schemas": {
            **schemas.defined,
            "google.rpc.Status": _STATUS_SCHEMA,
            "google.protobuf.Any": _WELL_KNOWN["google.protobuf.Any"],
        },
        "responses": {
            "Error": {
                "description": "Error (google.rpc.Status)",
                "content": {"application/json": {"schema": {"$ref": _STATUS_REF}}},
            }
        },
        "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": dict(sorted(paths.items())),
        "components": components,
    }


class _PathNames:
    """Names of path variables in the document, one set per URL shape.

    OpenAPI tools read a dot in a parameter's name as attribute access (RFC 6570), and
    OpenAPI forbids two paths that differ only in their placeholders' names. So the variables
    of routes with the same shape (`/v1/products/{id}` and `/v1/products/{product.id}`) share
    one name per position: a plain field's proto name when some route has one there, else the
    nested path flattened (`preferences.user_id` -> `preferences_user_id`). The URLs and the
    gateway's routing are unchanged; only the placeholders are named differently.
    """

    def __init__(self, routes: Sequence[Route]) -> None:
        self._names: dict[str, list[str]] = {}
        for route in sorted(routes, key=lambda r: any(len(v.field_path) > 1 for v in _vars(r))):
            names = self._names.setdefault(_shape(route), [])
            for position, variable in enumerate(_vars(route)):
                if position == len(names):
                    names.append("_".join(variable.field_path))

    def names(self, route: Route) -> dict[str, str]:
        """Document name of each of the route's variables, by its dotted field path."""
        shared = self._names[_shape(route)]
        return {".".join(v.field_path): shared[i] for i, v in enumerate(_vars(route))}

    def path(self, route: Route) -> str:
        path = route.template.openapi_path()
        for dotted, name in self.names(route).items():
            path = path.replace("{" + dotted + "}", "{" + name + "}")
        return path


def _vars(route: Route) -> list[Any]:
    return list(route.template.variables)


def _shape(route: Route) -> str:
    """The route's path with every placeholder blanked: routes with one shape are one URL."""
    return re.sub(r"\{[^}]*\}", "{}", route.template.openapi_path())


def _operation(route: Route, schemas: _Schemas, names: dict[str, str]) -> dict[str, Any]:
    request_type = route.method.input_type
    path_fields = [".".join(v.field_path) for v in route.template.variables]
    parameters = [_path_parameter(route, name, names[name], schemas) for name in path_fields]
    for index, segment in enumerate(route.template.segments):
        if segment in ("*", "**"):
            parameters.append(
                {
                    "name": f"_segment{index}",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                }
            )
    if route.body != "*":
        excluded = {*path_fields, *([route.body] if route.body else [])}
        parameters.extend(_query_parameters(request_type, "", excluded, schemas, 0, ()))
    if route.idempotency_key:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                # The methods that take one refuse to run without it (a retry must be safe).
                "required": True,
                "description": "A unique value per attempt (e.g. a UUID); retrying with the "
                "same key returns the first result.",
                "schema": {"type": "string", "pattern": _IDEMPOTENCY_KEY_PATTERN},
            }
        )
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "tags": [route.method.containing_service.name],
        "summary": f"{route.method.containing_service.name}.{route.method.name}",
        **_described(schemas.comments.get(route.method.full_name)),
        "parameters": parameters,
        "responses": _responses(route, schemas),
        "security": [] if route.access.public else [{"bearerAuth": []}],
    }
    body = _request_body(route, path_fields, schemas)
    if body is not None:
        operation["requestBody"] = body
    return operation


def _path_parameter(
    route: Route, name: str, document_name: str, schemas: _Schemas
) -> dict[str, Any]:
    chain = resolve_path(route.method.input_type, name)
    assert chain is not None
    schema, _ = _with_rules(chain[-1], schemas.field(chain[-1]), in_path=True)
    variable = next(v for v in route.template.variables if ".".join(v.field_path) == name)
    if variable.segments != ("*",):
        schema["pattern"] = (
            "^"
            + "/".join("[^/]+" if s == "*" else ".+" if s == "**" else s for s in variable.segments)
            + "$"
        )
    parameter: dict[str, Any] = {
        "name": document_name,
        "in": "path",
        "required": True,
        "schema": schema,
    }
    if document_name != name:
        parameter["description"] = f"The request's `{name}` field."
    else:
        parameter.update(_described(schemas.comments.get(chain[-1].full_name)))
    return parameter


def _query_parameters(
    message: Descriptor,
    prefix: str,
    excluded: set[str],
    schemas: _Schemas,
    depth: int,
    seen: tuple[str, ...],
) -> Iterable[dict[str, Any]]:
    for field in message.fields:
        proto_path = f"{prefix}{field.name}"
        if proto_path in excluded:
            continue
        full = message_name(field)
        if is_map(field) or full in _NOT_IN_QUERY:
            continue
        if full is not None and full not in _QUERY_LEAF_TYPES:
            nested = field.message_type
            if is_repeated(field) or depth >= _MAX_QUERY_DEPTH or full in seen or nested is None:
                continue
            yield from _query_parameters(
                nested, proto_path + ".", excluded, schemas, depth + 1, (*seen, full)
            )
            continue
        schema, required = _with_rules(field, schemas.field(field))
        parameter: dict[str, Any] = {
            "name": _json_name_path(prefix, field),
            "in": "query",
            **_described(schemas.comments.get(field.full_name)),
            # A rule that requires a nested field applies only when its parent is sent.
            "required": required and depth == 0,
            "schema": schema,
        }
        if is_repeated(field):
            parameter.update(style="form", explode=True)
        elif not parameter["required"] and not _textual(field):
            # The gateway reads `?pageSize=` (an empty form field) as "not given".
            parameter["allowEmptyValue"] = True
        yield parameter


def _textual(field: FieldDescriptor) -> bool:
    """Whether an empty string is a value of this field (strings and bytes, also wrapped)."""
    if message_name(field) in WRAPPER_TYPES and field.message_type is not None:
        field = field.message_type.fields_by_name["value"]
    return field.type in (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES)


def _json_name_path(prefix: str, field: FieldDescriptor) -> str:
    # Query parameter names use JSON names at every level (proto names are accepted too).
    parts = [_camel(part) for part in prefix.rstrip(".").split(".")] if prefix else []
    return ".".join([*parts, field.json_name])


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def _request_body(route: Route, path_fields: list[str], schemas: _Schemas) -> dict[str, Any] | None:
    if not route.body:
        return None
    request_type = route.method.input_type
    if route.body == "*":
        schema = schemas.message(request_type)
        bound = {p.split(".")[0] for p in path_fields if "." not in p}
        if bound:
            # Path-bound fields come from the path: they are not part of the body schema.
            base = schemas.defined[request_type.full_name]
            properties = {
                k: v
                for k, v in base.get("properties", {}).items()
                if k not in {request_type.fields_by_name[b].json_name for b in bound}
            }
            schema = {"type": "object", "properties": properties, "additionalProperties": False}
            required = [r for r in base.get("required", []) if r in properties]
            if required:
                schema["required"] = required
    else:
        body_field = request_type.fields_by_name[route.body]
        schema = schemas.field(body_field)
        prefix = f"{route.body}."
        from_path = [p.removeprefix(prefix) for p in path_fields if p.startswith(prefix)]
        if from_path and body_field.message_type is not None:
            schema = _without_required(schemas, body_field.message_type, from_path)
    # An absent body is an empty message: required as soon as some field must be sent.
    must_send = bool(schemas.resolve(schema).get("required"))
    return {"required": must_send, "content": {"application/json": {"schema": schema}}}


def _without_required(schemas: _Schemas, message: Descriptor, from_path: list[str]) -> Schema:
    """`message`'s schema where the fields the path supplies (`{product.id}`) may be left out:
    the gateway sets them from the URL, overriding the body's value."""
    schemas.message(message)
    base = schemas.defined[message.full_name]
    names = {message.fields_by_name[f].json_name for f in from_path if f in message.fields_by_name}
    schema = dict(base)
    required = [r for r in base.get("required", []) if r not in names]
    if required:
        schema["required"] = required
    else:
        schema.pop("required", None)
    return schema


def _responses(route: Route, schemas: _Schemas) -> dict[str, Any]:
    error = {"$ref": "#/components/responses/Error"}
    status = str(route.success_status)
    success: dict[str, Any] = {"description": "Success"}
    if route.success_status != 204:
        response_type = route.method.output_type
        schema = (
            schemas.field(response_type.fields_by_name[route.response_body])
            if route.response_body
            else schemas.message(response_type)
        )
        success["content"] = {"application/json": {"schema": schema}}
    responses: dict[str, Any] = {status: success, "400": error, "429": error}
    if not route.access.public:
        responses["401"] = error
        responses["403"] = error
    responses["default"] = error
    return responses


class _Schemas:
    """Component schemas by full message name, built on first reference."""

    def __init__(self, comments: Mapping[str, str]) -> None:
        self.defined: dict[str, Schema] = {}
        # Doc comments by full proto name, for the schemas' and properties' descriptions.
        self.comments = comments

    def resolve(self, schema: Schema) -> Schema:
        """The component a `$ref` schema points at (other schemas as they are)."""
        reference = schema.get("$ref")
        if not isinstance(reference, str):
            return schema
        return self.defined.get(reference.rsplit("/", 1)[-1], {})

    def message(self, descriptor: Descriptor) -> Schema:
        name = descriptor.full_name
        if name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[name])
        if name not in self.defined:
            self.defined[name] = {}  # placeholder: recursive messages refer to themselves
            self.defined[name] = self._object(descriptor)
        return {"$ref": f"#/components/schemas/{name}"}

    def _object(self, descriptor: Descriptor) -> Schema:
        properties: dict[str, Schema] = {}
        required: list[str] = []
        for field in descriptor.fields:
            field_schema, field_required = _with_rules(field, self.field(field))
            if field_required:
                required.append(field.json_name)
            else:
                # Proto3 JSON reads `null` as the field's default value; a field that must be
                # sent refuses it like its zero value.
                field_schema = _nullable(field_schema)
            properties[field.json_name] = {
                **field_schema,
                **_described(self.comments.get(field.full_name)),
            }
        schema: Schema = {
            **_described(self.comments.get(descriptor.full_name)),
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
        }
        if required:
            schema["required"] = required
        return schema

    def field(self, field: FieldDescriptor) -> Schema:
        if is_map(field):
            entry = field.message_type
            assert entry is not None
            return {
                "type": "object",
                "additionalProperties": self._single(entry.fields_by_name["value"]),
            }
        single = self._single(field)
        return {"type": "array", "items": single} if is_repeated(field) else single

    def _single(self, field: FieldDescriptor) -> Schema:
        if field.type == FieldDescriptor.TYPE_ENUM:
            assert field.enum_type is not None
            return _enum(field.enum_type)
        if message_name(field) is not None:
            assert field.message_type is not None
            return self.message(field.message_type)
        return dict(_SCALARS[field.type])


def _described(comment: str | None) -> dict[str, str]:
    """A `description` keyword for the comment, or nothing when there is none."""
    return {"description": comment} if comment else {}


def _nullable(schema: Schema) -> Schema:
    kind = schema.get("type")
    if isinstance(kind, list):
        return schema if "null" in kind else {**schema, "type": [*kind, "null"]}
    if schema == {}:
        return schema  # google.protobuf.Value: null is already one of its values
    if set(schema) == {"anyOf"}:
        return {"anyOf": [*schema["anyOf"], {"type": "null"}]}
    if isinstance(kind, str) and not ({"enum", "const", "anyOf", "allOf"} & schema.keys()):
        return {**schema, "type": [kind, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def _enum(enum: EnumDescriptor, numbers: Iterable[int] | None = None) -> Schema:
    """Proto3 JSON enum: the value's name (what the gateway answers), or its number (which
    clients may send, as proto3 JSON allows)."""
    allowed = set(numbers) if numbers is not None else {value.number for value in enum.values}
    values = [value for value in enum.values if value.number in allowed]
    return {
        "anyOf": [
            {"type": "string", "enum": [value.name for value in values]},
            {"type": "integer", "enum": sorted({value.number for value in values})},
        ]
    }


# --- buf.validate rules -> JSON Schema keywords -------------------------------------------

_STRING_KEYWORDS: Final = {"min_len": "minLength", "max_len": "maxLength", "pattern": "pattern"}
_STRING_FORMATS: Final = {
    "email": "email",
    "uuid": "uuid",
    "uri": "uri",
    "hostname": "hostname",
    "ipv4": "ipv4",
    "ipv6": "ipv6",
}
_NUMBER_KEYWORDS: Final = {
    "gt": "exclusiveMinimum",
    "gte": "minimum",
    "lt": "exclusiveMaximum",
    "lte": "maximum",
}
_REPEATED_KEYWORDS: Final = {
    "min_items": "minItems",
    "max_items": "maxItems",
    "unique": "uniqueItems",
}
_MAP_KEYWORDS: Final = {"min_pairs": "minProperties", "max_pairs": "maxProperties"}
_MIN_COUNT_RULES: Final = ("min_items", "min_pairs")
# buf.validate.Ignore values.
_IGNORE_IF_ZERO_VALUE: Final = 1
_IGNORE_ALWAYS: Final = 3
_NUMBER_KINDS: Final = frozenset(
    {
        "int32",
        "int64",
        "uint32",
        "uint64",
        "sint32",
        "sint64",
        "fixed32",
        "fixed64",
        "sfixed32",
        "sfixed64",
        "double",
        "float",
    }
)


def _with_rules(
    field: FieldDescriptor, schema: Schema, *, in_path: bool = False
) -> tuple[Schema, bool]:
    """The field's schema with its `buf.validate.field` rules applied, and whether the
    rules make it required: by the `required` rule, or because they reject the zero value
    that an absent field (without presence) stands for."""
    rules = _field_rules(field)
    if rules is None or rules.ignore == _IGNORE_ALWAYS:
        return schema, False
    ruled = _apply_rules(field, dict(schema), rules)
    # With presence (proto3 `optional`, messages) an explicit zero is still checked.
    zero_ignored = rules.ignore == _IGNORE_IF_ZERO_VALUE and not field.has_presence
    if in_path:
        # A path variable is never empty (a segment has at least one character).
        if ruled.get("type") == "string" and "minLength" not in ruled:
            ruled["minLength"] = 1
        return ruled, True
    if zero_ignored:
        return _or_zero(field, ruled), False
    required = bool(getattr(rules, "required", False))
    return ruled, required or (not field.has_presence and _rejects_zero(field, rules))


def _rejects_zero(field: FieldDescriptor, rules: Any) -> bool:
    """Whether the rules fail a field's zero value (so clients must send the field)."""
    kind = rules.WhichOneof("type")
    if kind is None:
        return False
    sub = getattr(rules, kind)
    if kind in ("repeated", "map"):
        return any(_has(sub, rule) and int(getattr(sub, rule)) > 0 for rule in _MIN_COUNT_RULES)
    if kind == "string":
        if any(_has(sub, rule) and int(getattr(sub, rule)) > 0 for rule in ("min_len", "len")):
            return True
        if _has(sub, "pattern") and re.search(sub.pattern, "") is None:
            return True
        if any(_has(sub, rule) and getattr(sub, rule) for rule in _STRING_FORMATS):
            return True
        return _excludes(sub, "")
    if kind in _NUMBER_KINDS:
        bounds = {rule: float(getattr(sub, rule)) for rule in _NUMBER_KEYWORDS if _has(sub, rule)}
        if bounds.get("gt", -1.0) >= 0 or bounds.get("gte", 0.0) > 0:
            return True
        if bounds.get("lt", 1.0) <= 0 or bounds.get("lte", 0.0) < 0:
            return True
        return _excludes(sub, 0)
    if kind == "enum":
        allowed = list(getattr(sub, "in", ()))
        return bool(allowed) and 0 not in allowed or 0 in list(getattr(sub, "not_in", ()))
    return False


def _excludes(rules: Any, zero: str | int) -> bool:
    allowed = list(getattr(rules, "in", ()))
    if allowed and zero not in allowed:
        return True
    return _has(rules, "const") and rules.const != zero


def _or_zero(field: FieldDescriptor, ruled: Schema) -> Schema:
    """`ruled`, or the field's zero value, which the ignore rule lets through unchecked."""
    if is_map(field):
        return {"anyOf": [ruled, {"type": "object", "maxProperties": 0}]}
    if is_repeated(field):
        return {"anyOf": [ruled, {"type": "array", "maxItems": 0}]}
    return {"anyOf": [ruled, {"const": _zero_value(field)}]}


def _zero_value(field: FieldDescriptor) -> str | int | bool:
    if field.type == FieldDescriptor.TYPE_ENUM:
        assert field.enum_type is not None
        return str(field.enum_type.values_by_number[0].name)
    if field.type in (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES):
        return ""
    if field.type == FieldDescriptor.TYPE_BOOL:
        return False
    if _SCALARS[field.type]["type"] == "string":  # 64-bit integers travel as strings
        return "0"
    return 0


def _apply_rules(field: FieldDescriptor, schema: Schema, rules: Any) -> Schema:
    kind = rules.WhichOneof("type")
    if kind is None:
        return schema
    sub = getattr(rules, kind)
    if kind == "repeated":
        _apply(schema, sub, _REPEATED_KEYWORDS)
        if sub.HasField("items") and "items" in schema:
            inner_kind = sub.items.WhichOneof("type")
            if inner_kind is not None:
                schema["items"] = _apply_scalar(
                    dict(schema["items"]), inner_kind, getattr(sub.items, inner_kind)
                )
        return schema
    if kind == "map":
        _apply(schema, sub, _MAP_KEYWORDS)
        return schema
    if kind == "enum":
        return _enum_rules(field, schema, sub)
    if "$ref" in schema:
        schema = {"allOf": [schema]}
    return _apply_scalar(schema, kind, sub)


def _enum_rules(field: FieldDescriptor, schema: Schema, rules: Any) -> Schema:
    allowed = {int(n) for n in getattr(rules, "in", ())}
    denied = {int(n) for n in getattr(rules, "not_in", ())}
    enum = field.enum_type
    if enum is None or "anyOf" not in schema or not (allowed or denied):
        return schema
    numbers = [
        v.number
        for v in enum.values
        if (not allowed or v.number in allowed) and v.number not in denied
    ]
    return _enum(enum, numbers)


def _apply_scalar(schema: Schema, kind: str, rules: Any) -> Schema:
    if kind == "string":
        _apply(schema, rules, _STRING_KEYWORDS)
        if _has(rules, "len"):
            schema["minLength"] = schema["maxLength"] = int(rules.len)
        for rule, fmt in _STRING_FORMATS.items():
            if _has(rules, rule) and getattr(rules, rule):
                schema["format"] = fmt
        if list(getattr(rules, "in", ())):
            schema["enum"] = list(getattr(rules, "in"))
        if _has(rules, "const"):
            schema["const"] = rules.const
    elif kind in _NUMBER_KINDS:
        _apply(schema, rules, _NUMBER_KEYWORDS)
        if list(getattr(rules, "in", ())):
            schema["enum"] = list(getattr(rules, "in"))
        if _has(rules, "const"):
            schema["const"] = rules.const
    return schema


def _apply(schema: Schema, rules: Any, keywords: dict[str, str]) -> None:
    for rule, keyword in keywords.items():
        if _has(rules, rule):
            value = getattr(rules, rule)
            schema[keyword] = value if isinstance(value, (bool, str)) else _number(value)


def _number(value: Any) -> int | float:
    return value if isinstance(value, int) else float(value)


def _has(message: Any, name: str) -> bool:
    try:
        return bool(message.HasField(name))
    except ValueError:
        return False


def _field_rules(field: FieldDescriptor) -> Any:
    options: Any = field.GetOptions()
    extension = _rules_extension(field)
    if extension is None or not options.HasExtension(extension):
        return None
    return options.Extensions[extension]


def _rules_extension(field: FieldDescriptor) -> FieldDescriptor | None:
    containing = field.containing_type
    if containing is None:
        return None
    try:
        return containing.file.pool.FindExtensionByName("buf.validate.field")
    except KeyError:
        return None
