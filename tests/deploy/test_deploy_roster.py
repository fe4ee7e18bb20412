"""Every hand-kept list of the components in deploy/ and CI names the roster's services.

mesh/roster.py is the one list (its unit test holds it to deploy/mesh/policy.yaml). The files
the policy renders follow it by construction; the ones below are written by hand, so a service
added to the roster and forgotten here would build no image, get no dev or prod tag, or never
reach the cluster.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mesh.roster import SERVICE_NAMES

from .deploy_tools import DEPLOY, KUSTOMIZATIONS, ROOT

COMPONENTS = [*SERVICE_NAMES, "gateway"]
WORKFLOW = ROOT / ".github" / "workflows" / "ci-cd.yaml"
# `for component in user catalog ... gateway; do` in a job's shell script.
COMPONENT_LOOP = re.compile(r"for component in ([\w ]+); do")


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _steps_running(job: dict[str, Any]) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def test_ci_builds_an_image_of_every_component() -> None:
    workflow = _load(WORKFLOW)
    assert workflow["jobs"]["images"]["strategy"]["matrix"]["component"] == COMPONENTS


@pytest.mark.parametrize("job", ["deploy-dev", "pin-prod"])
def test_ci_release_jobs_tag_every_component(job: str) -> None:
    scripts = _steps_running(_load(WORKFLOW)["jobs"][job])
    loops = [match.group(1).split() for s in scripts for match in COMPONENT_LOOP.finditer(s)]
    assert loops == [COMPONENTS], f"{job}: the components loop differs from the roster"


def _listed_under(folder: str, resources: list[str]) -> list[str]:
    """The names of the <folder>/<name>.yaml resources, in the kustomization's order."""
    pattern = re.compile(rf"^{folder}/([\w-]+)\.yaml$")
    return [m.group(1) for m in map(pattern.match, resources) if m]


def test_base_kustomization_lists_every_workload_and_its_routing() -> None:
    resources = _load(KUSTOMIZATIONS["base"] / "kustomization.yaml")["resources"]
    assert _listed_under("services", resources) == COMPONENTS
    routing = _listed_under("istio", resources)
    assert [name for name in routing if name != "peer-authentication"] == list(SERVICE_NAMES)


def test_rendered_workload_and_routing_files_are_the_roster() -> None:
    # The renderer writes these from the policy; a stale file of a removed service would
    # linger unlisted.
    base = DEPLOY / "k8s" / "base"
    assert sorted(p.stem for p in (base / "services").glob("*.yaml")) == sorted(COMPONENTS)
    routing = {p.stem for p in (base / "istio").glob("*.yaml")} - {"peer-authentication"}
    assert routing == set(SERVICE_NAMES)


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_overlay_sets_the_image_of_every_component(overlay: str) -> None:
    images = _load(KUSTOMIZATIONS[overlay] / "kustomization.yaml")["images"]
    assert [image["name"] for image in images] == [f"shopmesh/{c}" for c in COMPONENTS]
