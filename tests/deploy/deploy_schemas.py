"""Validate rendered objects: Kubernetes kinds against kubernetes-validate's bundled schemas,
custom resources against the openAPIV3Schema of their CRDs, and the few kinds whose CRDs no
registry serves (Kong, Jaeger) against checks of their required fields."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import jsonschema
import kubernetes_validate  # type: ignore[import-untyped]
import yaml

KUBERNETES_VERSION: Final = "1.33"
Doc = Mapping[str, Any]


def _structural(node: Any) -> Any:
    """Turn a CRD's structural OpenAPI schema into a strict JSON schema."""
    if isinstance(node, list):
        return [_structural(item) for item in node]
    if not isinstance(node, Mapping):
        return node
    schema: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties"):
            schema[key] = {name: _structural(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not", "allOf", "anyOf", "oneOf"):
            schema[key] = _structural(value)
        elif not key.startswith("x-kubernetes") and key != "nullable":
            schema[key] = value
    if node.get("x-kubernetes-int-or-string"):
        schema.pop("type", None)
        schema["anyOf"] = [*schema.get("anyOf", []), {"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in schema:
        schema["type"] = [schema["type"], "null"]
    if node.get("x-kubernetes-embedded-resource"):
        for field in ("apiVersion", "kind", "metadata"):
            schema.setdefault("properties", {}).setdefault(field, {})
    # The API server rejects unknown fields under strict field validation; so do we.
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        schema["additionalProperties"] = False
    return schema


def load_crd_schemas(files: Iterable[Path]) -> dict[tuple[str, str], dict[str, Any]]:
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    for path in files:
        for crd in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group = crd["spec"]["group"]
            kind = crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                raw = version.get("schema", {}).get("openAPIV3Schema")
                if raw is None:
                    continue
                schema = _structural(raw)
                properties = schema.setdefault("properties", {})
                properties.update(
                    {"apiVersion": {"type": "string"}, "kind": {"type": "string"}},
                    metadata={"type": "object"},
                )
                schemas[(f"{group}/{version['name']}", kind)] = schema
    return schemas


def _require(doc: Doc, *paths: str) -> list[str]:
    errors = []
    for path in paths:
        node: Any = doc
        for part in path.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        if node in (None, "", [], {}):
            errors.append(f"missing {path}")
    return errors


def _kong_plugin(doc: Doc) -> list[str]:
    errors = _require(doc, "metadata.name", "plugin")
    if "config" in doc and not isinstance(doc["config"], Mapping):
        errors.append("config must be a mapping")
    return errors


def _kong_consumer(doc: Doc) -> list[str]:
    errors = _require(doc, "metadata.name", "username")
    if not all(isinstance(c, str) for c in doc.get("credentials", [])):
        errors.append("credentials must name Secrets")
    return errors


def _jaeger(doc: Doc) -> list[str]:
    errors = _require(doc, "metadata.name", "spec.strategy", "spec.storage.type")
    if doc.get("spec", {}).get("strategy") not in ("allInOne", "production", "streaming"):
        errors.append("spec.strategy must be allInOne, production or streaming")
    return errors


# Kinds whose CRDs are not served by any registry this project can reach.
REQUIRED_FIELD_CHECKS: Final[Mapping[tuple[str, str], Callable[[Doc], list[str]]]] = {
    ("configuration.konghq.com/v1", "KongPlugin"): _kong_plugin,
    ("configuration.konghq.com/v1", "KongConsumer"): _kong_consumer,
    ("jaegertracing.io/v1", "Jaeger"): _jaeger,
}


class Validator:
    def __init__(self, crd_schemas: Mapping[tuple[str, str], dict[str, Any]]) -> None:
        self._crds = crd_schemas

    def errors(self, doc: Doc) -> list[str]:
        key = (doc["apiVersion"], doc["kind"])
        if key in self._crds:
            validator = jsonschema.Draft7Validator(self._crds[key])
            return [
                f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
                for e in validator.iter_errors(doc)
            ]
        if key in REQUIRED_FIELD_CHECKS:
            return REQUIRED_FIELD_CHECKS[key](doc)
        try:
            kubernetes_validate.validate(dict(doc), KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.utils.ValidationError as error:
            return [f"{'.'.join(map(str, error.absolute_path))}: {error.message}"]
        except kubernetes_validate.utils.SchemaNotFoundError as error:
            return [f"no schema for {error.api_version} {error.kind}"]
        return []
