"""The one place that assembles the search service."""

from __future__ import annotations

import logging

from grpc import aio
from shop.catalog.v1 import catalog_pb2_grpc
from shop.search.v1 import search_pb2, search_pb2_grpc

from mesh.bootstrap import Runtime
from mesh.clients import CallAs
from mesh.events import EventConsumer, EventPublisher, HandlerDedupes, topic_for
from mesh.server import BackgroundTask, ServiceSpec

from .adapters.catalog import CatalogPages
from .adapters.events import IndexEvents
from .adapters.index import ProductIndex, connect
from .adapters.recent_results import RecentResults
from .reindex import quiet_client_logs
from .service_layer.indexing import IndexUpdater
from .service_layer.reindex import reindex
from .service_layer.search import SearchService
from .servicer import SearchServicer
from .settings import Settings

SERVICE_NAME = search_pb2.DESCRIPTOR.services_by_name["SearchService"].full_name
logger = logging.getLogger(__name__)


async def build(runtime: Runtime) -> ServiceSpec:
    settings = Settings.from_env(runtime.environ)
    quiet_client_logs()
    # Each resource goes on the runtime's cleanup stack as soon as it is open: a failed later
    # step closes it, and shutdown closes everything in reverse (Kafka, then Elasticsearch).
    es = connect(settings.elasticsearch_url)
    runtime.cleanup.push_async_callback(es.close)
    index = ProductIndex(es, settings.index_alias)
    first_start = await index.ensure()
    publisher = EventPublisher(
        settings.kafka_bootstrap_servers, client_id="search", security=settings.kafka_security
    )
    await publisher.start()
    runtime.cleanup.push_async_callback(publisher.stop)
    consumer = EventConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        security=settings.kafka_security,
        group_id=settings.consumer_group,
        topics=[topic_for("product"), topic_for("review")],
        handler=IndexEvents(IndexUpdater(index)).handle,
        # Every change is idempotent by version: no dedupe store needed.
        processed=HandlerDedupes(),
        dead_letters=publisher,
        tracer=runtime.tracer_provider.get_tracer("search"),
    )
    catalog = CatalogPages(
        catalog_pb2_grpc.CatalogServiceStub(
            runtime.channels.channel("catalog", call_as=CallAs.ANONYMOUS)
        )
    )

    async def initial_reindex() -> None:
        # The alias was just created (empty): fill it from the catalog. A failure raises,
        # and the runtime restarts the task until the catalog answers.
        await reindex(
            index,
            catalog,
            page_size=settings.reindex_page_size,
            grace_seconds=settings.reindex_grace_seconds,
        )

    # Identical searches within a second share one answer: the index is a second behind anyway.
    recent = RecentResults(index, runtime.metrics_registry, seconds=settings.recent_results_seconds)
    servicer = SearchServicer(SearchService(recent))

    def register(server: aio.Server) -> None:
        search_pb2_grpc.add_SearchServiceServicer_to_server(servicer, server)

    background: list[BackgroundTask] = [consumer.run]
    if first_start:
        logger.info("no index behind %s yet: indexing the catalog", settings.index_alias)
        background.append(initial_reindex)
    return ServiceSpec(
        name="search",
        services=[SERVICE_NAME],
        register=[register],
        probes={"elasticsearch": index.ping},
        background=background,
    )
