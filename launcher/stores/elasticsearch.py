"""Elasticsearch 8 from Maven Central's integ-test distribution, single node, security off.

That distribution carries only the modules x-pack-core, x-pack-security, transport-netty4 and
apm: no analysis-common (language analyzers, stemmer, edge_ngram, synonym...), no
mapper-extras (search_as_you_type, scaled_float), no lang-painless, no reindex, and no
`GET /` (the Python client's info()/ping() fail; nodes.info and cluster.health work).
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
import zipfile
from pathlib import Path
from typing import Final

from launcher.osuser import hand_over, make_readable, prepare_stores_dir
from launcher.stores.base import StoreContext, remove_tree
from launcher.toolchain import MavenArtifact, cache_lock, fetch_maven, java_home

# The Python client (elasticsearch 8.19) requires a server of the same major version.
ES_VERSION: Final = "8.19.9"
ES_ARTIFACT: Final = MavenArtifact(
    "org.elasticsearch.distribution.integ-test-zip", "elasticsearch", ES_VERSION, "zip"
)
HOST: Final = "127.0.0.1"
# Bounded heap; C1-only JIT starts the node two to four times faster on a two-core machine,
# which matters more for a local platform than peak query throughput.
JAVA_OPTS: Final = "-Xms512m -Xmx512m -XX:TieredStopAtLevel=1"


def health_status(url: str, timeout: float = 2.0) -> str | None:
    """The cluster health colour, or None when the node does not answer."""
    try:
        with urllib.request.urlopen(f"{url}/_cluster/health", timeout=timeout) as reply:  # noqa: S310
            return str(json.load(reply).get("status"))
    except (OSError, ValueError):
        return None


class ElasticsearchStore:
    name = "elasticsearch"

    def __init__(self, context: StoreContext) -> None:
        self._context = context
        self._port = context.config.ports.elasticsearch
        self._transport_port = context.config.ports.elasticsearch_transport
        # Apart from the state directory: the server's own account owns it (see osuser).
        self._root = context.config.stores_dir / "elasticsearch"
        self._cache = context.config.cache_dir / f"elasticsearch-{ES_VERSION}"
        # argv and environment are filled in at start (they need the JDK and the download).
        self._process = context.process(
            "elasticsearch",
            [],
            user=context.server_user,
            ports=[self._port, self._transport_port],
        )

    def url(self) -> str:
        return f"http://{HOST}:{self._port}"

    def _home(self) -> Path:
        with cache_lock(self._cache / "home"):
            return self._unpacked_home()

    def _unpacked_home(self) -> Path:
        home = self._cache / "home"
        if (home / "bin" / "elasticsearch").exists():
            return home
        lib = fetch_maven(self._cache, [ES_ARTIFACT], self._context.progress, "elasticsearch")
        archive = next(lib.glob("elasticsearch-*.zip"))
        self._context.progress("elasticsearch: unpacking the distribution")
        unpacking = self._cache / "home.partial"
        shutil.rmtree(unpacking, ignore_errors=True)
        with zipfile.ZipFile(archive) as bundle:
            for member in bundle.infolist():
                extracted = Path(bundle.extract(member, unpacking))
                mode = member.external_attr >> 16
                if mode:
                    extracted.chmod(mode)
        (next(unpacking.iterdir())).rename(home)
        shutil.rmtree(unpacking, ignore_errors=True)
        archive.unlink()
        return home

    def start(self) -> None:
        home = self._home()
        user = self._context.server_user
        config = self._root / "config"
        prepare_stores_dir(self._root.parent, user)
        if not config.exists():
            shutil.copytree(home / "config", config)
        (self._root / "data").mkdir(parents=True, exist_ok=True)
        (self._root / "logs").mkdir(parents=True, exist_ok=True)
        (self._root / "tmp").mkdir(parents=True, exist_ok=True)
        # The server's data is its own: nobody else lists or reads it.
        self._root.chmod(0o700)
        hand_over(self._root, user)
        if user is not None:
            make_readable(home)
        self._process.argv = [
            str(home / "bin" / "elasticsearch"),
            "-E",
            "discovery.type=single-node",
            "-E",
            "xpack.security.enabled=false",
            "-E",
            f"network.host={HOST}",
            "-E",
            f"http.port={self._port}",
            "-E",
            f"transport.port={self._transport_port}",
            "-E",
            f"path.data={self._root / 'data'}",
            "-E",
            f"path.logs={self._root / 'logs'}",
            "-E",
            "cluster.name=shopmesh",
            "-E",
            "node.name=shopmesh-local",
            # Laptops and CI disks are often fuller than the default watermarks allow.
            "-E",
            "cluster.routing.allocation.disk.threshold_enabled=false",
            "-E",
            "action.destructive_requires_name=false",
        ]
        self._process.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "ES_JAVA_HOME": str(java_home()),
            "ES_JAVA_OPTS": JAVA_OPTS,
            "ES_PATH_CONF": str(config),
            "ES_TMPDIR": str(self._root / "tmp"),
            "LANG": "C.UTF-8",
        }
        self._process.start()
        self._process.wait_until(self.healthy, 300, "report yellow or green health")

    def stop(self) -> None:
        self._process.stop(timeout=60)

    def healthy(self) -> bool:
        return health_status(self.url()) in {"green", "yellow"}

    def purge(self) -> None:
        remove_tree(self._root)
