"""Search test helpers on top of the review harness (shared services and fakes)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import grpc
from aiokafka import (  # type: ignore[import-untyped]
    AIOKafkaConsumer,
    AIOKafkaProducer,
    TopicPartition,
)
from shop.catalog.v1 import catalog_pb2_grpc
from shop.search.v1 import search_pb2, search_pb2_grpc

from mesh.events import ensure_topics, topic_for
from services.catalog.main import build as build_catalog
from services.search.adapters.index import ProductIndex, connect
from services.search.main import build as build_search

from ..review.review_harness import catalog_environ, run_with_service_token, search_environ
from ..service_harness import TokenKeys, eventually


@dataclass
class SearchShop:
    catalog: catalog_pb2_grpc.CatalogServiceAsyncStub
    catalog_address: str
    search: search_pb2_grpc.SearchServiceAsyncStub
    environ: dict[str, str]
    index: ProductIndex


@asynccontextmanager
async def search_shop(
    ferretdb_url: str, kafka: str, elasticsearch_url: str, keys: TokenKeys
) -> AsyncIterator[SearchShop]:
    """A real catalog and a real search service on their own database, alias and group."""
    async with run_with_service_token(
        "catalog", build_catalog, catalog_environ(ferretdb_url, kafka), keys
    ) as catalog:
        environ = search_environ(elasticsearch_url, kafka, catalog=catalog.address)
        await start_group_at_end(kafka, environ["SEARCH_CONSUMER_GROUP"], SEARCH_TOPICS)
        es = connect(elasticsearch_url)
        try:
            index = ProductIndex(es, environ["SEARCH_INDEX_ALIAS"])
            async with (
                run_with_service_token("search", build_search, environ, keys) as search,
                grpc.aio.insecure_channel(catalog.address) as catalog_channel,
                grpc.aio.insecure_channel(search.address) as search_channel,
            ):
                # The first start reindexes the new alias: tests begin once that swap is done.
                await eventually(
                    index.write_targets, lambda t: len(t) == 1 and not t[0].endswith("_v0")
                )
                yield SearchShop(
                    catalog_pb2_grpc.CatalogServiceStub(catalog_channel),
                    catalog.address,
                    search_pb2_grpc.SearchServiceStub(search_channel),
                    environ,
                    index,
                )
        finally:
            try:
                # The service deletes replaced indices itself after a grace period: one may
                # vanish between the wildcard's expansion and the delete.
                await es.options(ignore_status=404).indices.delete(
                    index=f"{environ['SEARCH_INDEX_ALIAS']}_v*", ignore_unavailable=True
                )
            finally:
                await es.close()


SEARCH_TOPICS = (topic_for("product"), topic_for("review"))


async def start_group_at_end(kafka: str, group: str, topics: Sequence[str]) -> None:
    """Commits `group` at the end of `topics`: the session's Kafka carries the product
    events of every earlier test, and a new group would otherwise replay them into this
    test's index while it runs."""
    await ensure_topics(kafka, topics)
    producer = AIOKafkaProducer(bootstrap_servers=kafka)
    await producer.start()
    try:  # the producer waits for the metadata the partition list needs
        partitions = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in sorted(await producer.partitions_for(topic))
        ]
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.commit(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


def query(text: str = "", **filters: Any) -> search_pb2.SearchRequest:
    return search_pb2.SearchRequest(query=text, **filters)
