"""Fixtures of the deployment tests: cached tools, rendered kustomizations, schema validation.

No cluster is needed. Tools are fetched on first use (see deploy_tools.py); under CI=true a
tool that cannot be fetched fails the test instead of skipping it.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import pytest
import yaml

from .deploy_schemas import Validator, load_crd_schemas
from .deploy_tools import DEPLOY, KUSTOMIZATIONS, KUSTOMIZE, ROOT, Toolbox, ToolUnavailable

T = TypeVar("T")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def toolbox(pytestconfig: pytest.Config) -> Toolbox:
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
    terminal = pytestconfig.pluginmanager.get_plugin("terminalreporter")

    def report(message: str) -> None:
        # Downloads take a while on a fresh machine: say so even while output is captured.
        if capture is None or terminal is None:
            return
        with capture.global_and_fixture_disabled():
            terminal.write_line(f"[deploy tools] {message}")

    return Toolbox(report)


@pytest.fixture(scope="session")
def obtain() -> Callable[[Callable[[], T]], T]:
    def run(fetch: Callable[[], T]) -> T:
        try:
            return fetch()
        except ToolUnavailable as error:
            if _in_ci():
                pytest.fail(f"tool unavailable in CI: {error}")
            pytest.skip(f"tool unavailable: {error}")

    return run


@pytest.fixture(scope="session")
def kustomize(toolbox: Toolbox, obtain: Callable[[Callable[[], Path]], Path]) -> Path:
    return obtain(lambda: toolbox.go_binary(KUSTOMIZE))


@pytest.fixture(scope="session")
def builds(kustomize: Path) -> dict[str, list[dict[str, Any]]]:
    """`kustomize build` of every kustomization, parsed."""
    rendered: dict[str, list[dict[str, Any]]] = {}
    for name, path in KUSTOMIZATIONS.items():
        done = subprocess.run(
            [str(kustomize), "build", str(path)], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, f"kustomize build {path.relative_to(ROOT)}:\n{done.stderr}"
        rendered[name] = [doc for doc in yaml.safe_load_all(done.stdout) if doc]
    return rendered


@pytest.fixture(scope="session")
def validator(
    toolbox: Toolbox, obtain: Callable[[Callable[[], list[Path]]], list[Path]]
) -> Validator:
    return Validator(load_crd_schemas(obtain(toolbox.crd_files)))


@pytest.fixture(scope="session")
def render_module() -> Iterator[ModuleType]:
    """The deploy/mesh/render package, imported from its folder: under pytest the name
    `deploy` is this test package, so the renderer gets a name of its own."""
    package = DEPLOY / "mesh" / "render"
    spec = importlib.util.spec_from_file_location(
        "shopmesh_deploy_render",
        package / "__init__.py",
        submodule_search_locations=[str(package)],
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # The package's relative imports and dataclasses resolve through sys.modules.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    for name in [n for n in sys.modules if n == spec.name or n.startswith(spec.name + ".")]:
        sys.modules.pop(name, None)
