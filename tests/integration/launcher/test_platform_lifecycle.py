"""Each provisioned server keeps its data across restarts; purge deletes it; a killed
PostgreSQL comes back. Runs on its own stores (not the session's), stopped at the end."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # type: ignore[import-untyped]
from aiosmtplib import SMTP
from elasticsearch import AsyncElasticsearch
from pymongo import AsyncMongoClient

from launcher.infra import Infrastructure
from launcher.mailbox import Mailbox
from launcher.process import pid_alive, read_pid
from launcher.testing import discard, session_infrastructure

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def own_infra() -> Iterator[Infrastructure]:
    infra = session_infrastructure()
    yield infra
    discard(infra)


def restart(infra: Infrastructure, *names: str) -> None:
    infra.stop()
    assert not any(infra.store(name).healthy() for name in names)
    infra.ensure(names)


async def test_postgres_keeps_data_and_survives_being_killed(own_infra: Infrastructure) -> None:
    dsn = own_infra.create_database("lifecycle")
    conn = await asyncpg.connect(dsn)
    await conn.execute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('before')")
    await conn.close()

    restart(own_infra, "postgres")
    conn = await asyncpg.connect(dsn)
    assert await conn.fetchval("SELECT v FROM kept") == "before"
    await conn.close()

    pid = read_pid(own_infra.config.run_dir / "postgres.pid")
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    while pid_alive(pid):
        await asyncio.sleep(0.05)
    assert not own_infra.store("postgres").healthy()
    own_infra.stop()
    own_infra.ensure(["postgres"])
    conn = await asyncpg.connect(dsn)
    assert await conn.fetchval("SELECT v FROM kept") == "before"
    await conn.close()


async def test_redis_keeps_data(own_infra: Infrastructure) -> None:
    own_infra.ensure(["redis"])
    client = redis.from_url(own_infra.url("redis"))
    await client.set("kept", "yes")
    await client.aclose()
    restart(own_infra, "redis")
    client = redis.from_url(own_infra.url("redis"))
    assert await client.get("kept") == b"yes"
    await client.aclose()


async def test_kafka_keeps_records(own_infra: Infrastructure) -> None:
    own_infra.ensure(["kafka"])
    producer = AIOKafkaProducer(bootstrap_servers=own_infra.kafka_test_url(), acks="all")
    await producer.start()
    await producer.send_and_wait("lifecycle.kept", b"record")
    await producer.stop()
    restart(own_infra, "kafka")
    consumer = AIOKafkaConsumer(
        "lifecycle.kept",
        bootstrap_servers=own_infra.kafka_test_url(),
        group_id=f"lifecycle-{secrets.token_hex(3)}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), timeout=60)
    finally:
        await consumer.stop()
    assert record.value == b"record"


async def test_ferretdb_keeps_documents(own_infra: Infrastructure) -> None:
    own_infra.ensure(["ferretdb"])
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(own_infra.url("ferretdb"))
    await client["lifecycle"]["kept"].insert_one({"_id": "doc", "v": 1})
    await client.close()
    restart(own_infra, "ferretdb", "postgres")
    client = AsyncMongoClient(own_infra.url("ferretdb"))
    assert await client["lifecycle"]["kept"].find_one({"_id": "doc"}) == {"_id": "doc", "v": 1}
    await client.close()


async def test_elasticsearch_keeps_documents(own_infra: Infrastructure) -> None:
    own_infra.ensure(["elasticsearch"])
    client = AsyncElasticsearch(own_infra.url("elasticsearch"))
    await client.index(index="kept", id="1", document={"v": "one"}, refresh=True)
    await client.close()
    restart(own_infra, "elasticsearch")
    client = AsyncElasticsearch(own_infra.url("elasticsearch"))
    try:
        assert (await client.get(index="kept", id="1"))["_source"] == {"v": "one"}
    finally:
        await client.close()


async def test_captured_mail_is_kept(own_infra: Infrastructure) -> None:
    own_infra.ensure(["smtp"])
    port = own_infra.config.ports.smtp
    async with SMTP(hostname="127.0.0.1", port=port) as client:
        await client.sendmail("a@example.com", ["b@example.com"], "Subject: kept\r\n\r\nbody\r\n")
    restart(own_infra, "smtp")
    mailbox = Mailbox(own_infra.config.state_dir / "mail")
    assert [m["Subject"] for m in mailbox.messages()] == ["kept"]


async def test_purge_deletes_the_data(own_infra: Infrastructure) -> None:
    own_infra.ensure(["postgres", "redis", "smtp"])
    dsn = own_infra.create_database("doomed")
    own_infra.stop()
    own_infra.purge()
    state: Path = own_infra.config.state_dir
    assert not (state / "postgres").exists()
    assert not (state / "redis").exists()
    assert not (state / "mail").exists()
    own_infra.ensure(["postgres"])
    with pytest.raises(asyncpg.InvalidCatalogNameError):
        await asyncpg.connect(dsn)
