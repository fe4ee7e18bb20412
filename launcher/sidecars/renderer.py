"""The mesh renderer (deploy/mesh/render/), imported from the checkout by its location.

`deploy` is not an installed package (and under pytest the name is the deployment tests'
package), so the renderer gets a module name of its own.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Final

MODULE_NAME: Final = "shopmesh_mesh_render"


@cache
def load_render_package(repo_root: Path) -> ModuleType:
    package = repo_root / "deploy" / "mesh" / "render"
    spec = importlib.util.spec_from_file_location(
        MODULE_NAME, package / "__init__.py", submodule_search_locations=[str(package)]
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"no mesh renderer at {package}")
    module = importlib.util.module_from_spec(spec)
    # Relative imports inside the package and dataclasses resolve through sys.modules.
    sys.modules[MODULE_NAME] = module
    spec.loader.exec_module(module)
    return module


def load_module(repo_root: Path, name: str) -> ModuleType:
    """One module of the renderer (`envoy`, `policy`)."""
    load_render_package(repo_root)
    return importlib.import_module(f"{MODULE_NAME}.{name}")
