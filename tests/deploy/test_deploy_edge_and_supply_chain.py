"""Edge and supply-chain settings of the deployment: prod images by digest, Kong's rate limits
counted across its pods, the gateway trusting only its sidecar's forwarded-for, and the
workflow auditing dependencies and pinning prod digests."""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

import yaml

from .deploy_tools import DEPLOY, ROOT

Docs = list[dict[str, Any]]

_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def _containers(docs: Docs) -> list[dict[str, Any]]:
    found = []
    for doc in docs:
        spec = doc.get("spec", {})
        template = spec.get("template", {}).get("spec", {}) if isinstance(spec, dict) else {}
        found += template.get("containers", []) + template.get("initContainers", [])
    return found


def test_every_prod_image_is_pinned_by_digest_not_by_tag(builds: dict[str, Docs]) -> None:
    images = [container["image"] for container in _containers(builds["prod"])]
    assert len(images) >= 10
    for image in images:
        assert _DIGEST.search(image), f"prod image not pinned by digest: {image}"
        assert ":" not in image.split("@")[0].rsplit("/", 1)[-1], f"tag beside digest: {image}"


def test_kong_counts_rate_limits_in_redis_in_both_configurations(
    builds: dict[str, Docs],
) -> None:
    crds = [
        doc["config"]
        for doc in builds["prod"]
        if doc["kind"] == "KongPlugin" and doc["plugin"] == "rate-limiting"
    ]
    declarative = yaml.safe_load((DEPLOY / "kong" / "kong.yaml").read_text(encoding="utf-8"))
    routes = [r for s in declarative["services"] for r in s["routes"]]
    plugins = [p for p in declarative["plugins"]] + [
        p for r in routes for p in r.get("plugins", [])
    ]
    configs = crds + [p["config"] for p in plugins if p["name"] == "rate-limiting"]
    assert len(crds) == 2 and len(configs) == 4
    for config in configs:
        assert config["policy"] == "redis", config
        assert config["redis_host"] and config["redis_port"] == 6379
        # The password is a vault reference resolved by Kong, never a value in git.
        assert re.fullmatch(r"\{vault://env/[a-z-]+\}", config["redis_password"]), config


def test_the_gateway_trusts_only_its_sidecar_for_forwarded_for(
    builds: dict[str, Docs],
) -> None:
    for overlay in ("dev", "prod"):
        gateway = next(c for c in _containers(builds[overlay]) if c["name"] == "gateway")
        env = {e["name"]: e.get("value") for e in gateway.get("env", [])}
        networks = [ipaddress.ip_network(n) for n in env["GATEWAY_TRUSTED_PROXIES"].split(",")]
        assert networks == [ipaddress.ip_network("127.0.0.6/32"), ipaddress.ip_network("::6/128")]


def test_the_workflow_audits_dependencies_and_pins_prod_by_digest() -> None:
    workflow = yaml.safe_load(
        (ROOT / ".github" / "workflows" / "ci-cd.yaml").read_text(encoding="utf-8")
    )
    jobs = workflow["jobs"]
    lint = json.dumps(jobs["lint"])
    assert "pip-audit --strict" in lint
    assert "tools.gen_callers --check" in lint
    pin = json.dumps(jobs["pin-prod"])
    assert "overlays/prod" in pin and "edit set image" in pin and "@${digest}" in pin
    assert jobs["pin-prod"]["if"].startswith("startsWith(github.ref, 'refs/tags/v')")
