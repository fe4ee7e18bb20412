"""Writes mesh/auth/callers.py, the runtime's copy of the policy's per-method caller lists.

deploy/mesh/policy.yaml says which workload may call which method. Service images contain
only gen/, mesh/, services/ and gateway/, so the runtime cannot read deploy/ at run time: it
imports this generated table instead, and tests/unit/mesh/test_mesh_callers.py fails when the
table and the policy differ. Run `python -m tools.gen_callers` after editing the policy.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import yaml

ROOT: Final = Path(__file__).resolve().parents[1]
POLICY_FILE: Final = ROOT / "deploy" / "mesh" / "policy.yaml"
TARGET: Final = ROOT / "mesh" / "auth" / "callers.py"

_HEADER: Final = '''"""Workloads whose service tokens may call each method, by full method path.

Generated from deploy/mesh/policy.yaml by `python -m tools.gen_callers`; do not edit.
Groups are expanded. Mesh-wide paths (health, reflection) are public and not listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = ["METHOD_CALLERS"]

METHOD_CALLERS: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
'''

_FOOTER: Final = """    }
)
"""


def load_policy(path: Path = POLICY_FILE) -> Mapping[str, Any]:
    policy: Mapping[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return policy


def method_callers(policy: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """Callers by full method path, groups expanded (as deploy/mesh/render expands them)."""
    groups: Mapping[str, list[str]] = policy.get("groups", {})
    table: dict[str, frozenset[str]] = {}
    for spec in policy["services"].values():
        for method, callers in spec["methods"].items():
            expanded = {name for caller in callers for name in groups.get(caller, [caller])}
            table[f"/{spec['grpc_service']}/{method}"] = frozenset(expanded)
    return table


def render(policy: Mapping[str, Any]) -> str:
    lines = [_HEADER]
    for path, callers in method_callers(policy).items():
        # One caller a line, with trailing commas: ruff format keeps that shape.
        names = "".join(f'                "{caller}",\n' for caller in sorted(callers))
        lines.append(
            f'        "{path}": frozenset(\n            {{\n{names}            }}\n        ),\n'
        )
    lines.append(_FOOTER)
    return "".join(lines)


def main() -> int:
    text = render(load_policy())
    if "--check" in sys.argv[1:]:
        if TARGET.read_text(encoding="utf-8") != text:
            stale = TARGET.relative_to(ROOT)
            sys.stderr.write(f"{stale} is stale: run python -m tools.gen_callers\n")
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
