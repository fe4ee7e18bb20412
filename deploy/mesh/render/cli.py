"""`python -m deploy.mesh.render [--check]`: write the generated files, or check them."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from .outputs import render
from .policy import DEPLOY_DIR, Policy

logger = logging.getLogger("render")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.mesh.render",
        description="Render the Kubernetes and Istio manifests from deploy/mesh/policy.yaml.",
    )
    parser.add_argument("--check", action="store_true", help="fail when committed files differ")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    stale: list[Path] = []
    for relative, content in render(Policy.load()).items():
        path = DEPLOY_DIR / relative
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == content:
            continue
        stale.append(relative)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
            logger.info("wrote deploy/%s", relative)
    if args.check and stale:
        logger.error(
            "out of date (run python -m deploy.mesh.render): %s", ", ".join(map(str, stale))
        )
        return 1
    return 0
