"""Every kind of generated file, and the one function that renders them all.

A new kind of output is a module with `files(policy) -> {path under deploy/: content}`,
listed in OUTPUTS.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Final

from . import global_env, istio, kafka_acls, monitoring, network, secrets, workloads
from .policy import Policy

Output = Callable[[Policy], dict[Path, str]]

OUTPUTS: Final[tuple[Output, ...]] = (
    workloads.files,
    istio.files,
    network.files,
    monitoring.files,
    secrets.files,
    global_env.files,
    kafka_acls.files,
)


def render(policy: Policy) -> dict[Path, str]:
    """Every generated file, relative to deploy/, with its content."""
    files: dict[Path, str] = {}
    for output in OUTPUTS:
        for path, content in output(policy).items():
            if path in files:
                raise ValueError(f"two outputs render deploy/{path}")
            files[path] = content
    return files
