"""The session fixtures hand out working servers."""

from __future__ import annotations

import asyncio
import secrets

import asyncpg
import pytest
import redis.asyncio as redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # type: ignore[import-untyped]
from aiosmtplib import SMTP
from elasticsearch import AsyncElasticsearch
from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.errors import DuplicateKeyError

from launcher.mailbox import body_text
from launcher.testing import DatabaseFactory, SmtpCapture


async def test_postgres_dsn_gives_fresh_databases(postgres_dsn: DatabaseFactory) -> None:
    first, second = postgres_dsn(), postgres_dsn()
    assert first != second
    conn = await asyncpg.connect(first)
    try:
        await conn.execute("CREATE TABLE probe (id int primary key)")
        await conn.execute("INSERT INTO probe VALUES (1)")
        assert await conn.fetchval("SELECT count(*) FROM probe") == 1
    finally:
        await conn.close()
    other = await asyncpg.connect(second)
    try:
        tables = await other.fetch("SELECT tablename FROM pg_tables WHERE tablename = 'probe'")
        assert tables == []
    finally:
        await other.close()


async def test_postgres_dsn_with_a_name(postgres_dsn: DatabaseFactory) -> None:
    dsn = postgres_dsn("named_probe")
    assert dsn.rsplit("/", 1)[-1] == "named_probe"
    assert postgres_dsn("named_probe") == dsn


async def test_redis_url_answers(redis_url: str) -> None:
    client = redis.from_url(redis_url)
    try:
        await client.set("probe", "1")
        assert await client.get("probe") == b"1"
    finally:
        await client.aclose()


async def test_smtp_capture_stores_mail(smtp_capture: SmtpCapture) -> None:
    message = (
        "From: shop@shopmesh.local\r\nTo: ada@example.com\r\nSubject: Your order\r\n\r\n"
        "Thanks for your order.\r\n"
    )
    async with SMTP(hostname=smtp_capture.host, port=smtp_capture.port) as client:
        await client.sendmail("shop@shopmesh.local", ["ada@example.com"], message)
    received = smtp_capture.mailbox.wait_for(lambda m: m["Subject"] == "Your order")
    assert "ada@example.com" in received["To"]
    assert "Thanks for your order." in body_text(received)
    assert smtp_capture.mailbox.to("ADA@example.com")


async def test_kafka_bootstrap_produces_and_consumes(kafka_bootstrap: str) -> None:
    topic = f"platform.probe.{secrets.token_hex(4)}"
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"hello", key=b"order-1")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id="platform-probe",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), timeout=30)
        await consumer.commit()
    finally:
        await consumer.stop()
    assert (record.key, record.value) == (b"order-1", b"hello")


async def test_ferretdb_url_supports_what_the_services_use(ferretdb_url: str) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(ferretdb_url)
    try:
        products = client[f"probe_{secrets.token_hex(3)}"]["products"]
        await products.create_index("sku", unique=True)
        await products.create_index([("category", 1), ("price", -1)])
        await products.insert_one({"sku": "A-1", "category": "books", "price": 10, "stock": 5})
        with pytest.raises(DuplicateKeyError):
            await products.insert_one({"sku": "A-1", "category": "books", "price": 12})
        updated = await products.find_one_and_update(
            {"sku": "A-1", "stock": {"$gte": 2}},
            {"$inc": {"stock": -2}},
            return_document=ReturnDocument.AFTER,
        )
        assert updated is not None and updated["stock"] == 3
        names = [index["name"] async for index in await products.list_indexes()]
        assert "sku_1" in names
    finally:
        await client.close()


async def test_elasticsearch_url_indexes_and_searches(elasticsearch_url: str) -> None:
    client = AsyncElasticsearch(elasticsearch_url)
    try:
        # The integ-test distribution has no `GET /` (client.info/ping): ask the nodes API.
        nodes = await client.nodes.info(node_id="_local")
        (node,) = nodes["nodes"].values()
        assert node["version"].startswith("8.")
        index = f"probe-{secrets.token_hex(3)}"
        await client.index(
            index=index, id="1", document={"name": "Red running shoes"}, refresh=True
        )
        found = await client.search(index=index, query={"match": {"name": "shoes"}})
        assert found["hits"]["total"]["value"] == 1
        await client.indices.delete(index=index)
    finally:
        await client.close()
