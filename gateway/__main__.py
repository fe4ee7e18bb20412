"""`python -m gateway`: uvicorn (uvloop + httptools) with GATEWAY_WORKERS processes, and the
Prometheus endpoint on GATEWAY_METRICS_PORT aggregating every worker."""

from __future__ import annotations

import os
import shutil
import tempfile

from gateway.settings import GatewaySettings
from mesh.logs import configure_logging


def main() -> None:
    settings = GatewaySettings.from_env(os.environ)
    configure_logging("gateway", settings.log_level)
    # Workers write their metrics to files here; the server below sums them. The variable
    # must be set before prometheus_client is first imported, in this process and the workers.
    metrics_dir = tempfile.mkdtemp(prefix="gateway-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    import uvicorn
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=metrics_dir)  # type: ignore[no-untyped-call]
    server, thread = start_http_server(settings.metrics_port, addr=settings.host, registry=registry)
    try:
        uvicorn.run(
            "gateway.bootstrap:create_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            loop="uvloop",
            http="httptools",
            lifespan="on",
            access_log=False,
            # The client IP is worked out once, by gateway/client_ip.py against
            # GATEWAY_TRUSTED_PROXIES: uvicorn must not rewrite the peer from X-Forwarded-For
            # (it trusts 127.0.0.1 by default, so any local client could pick its own IP).
            proxy_headers=False,
            forwarded_allow_ips="",
            log_config=None,
            timeout_graceful_shutdown=10,
        )
    finally:
        server.shutdown()
        thread.join(timeout=5)
        shutil.rmtree(metrics_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
