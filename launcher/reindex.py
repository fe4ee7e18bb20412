"""The search index hook: `python -m services.search.reindex`, when the search service has one."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

logger = logging.getLogger(__name__)
HOOK_MODULE = "services.search.reindex"


def hook_exists(repo_root: Path) -> bool:
    return (repo_root / "services" / "search" / "reindex.py").exists()


def run_reindex(repo_root: Path, search_env: Mapping[str, str], timeout: float = 600) -> bool:
    """Rebuild the search index from the catalog; False when there is no hook or it failed."""
    if not hook_exists(repo_root):
        logger.info("search has no reindex hook (%s) yet; nothing to reindex", HOOK_MODULE)
        return False
    result = subprocess.run(  # noqa: S603 - our own module
        [sys.executable, "-m", HOOK_MODULE],
        env=dict(search_env),
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    for line in (result.stdout + result.stderr).splitlines():
        logger.info("reindex: %s", line)
    if result.returncode != 0:
        logger.error("reindex failed with exit code %d", result.returncode)
        return False
    return True
