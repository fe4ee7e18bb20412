"""The session fixtures hand out working servers."""

from __future__ import annotations

import asyncpg
import redis.asyncio as redis
from aiosmtplib import SMTP

from mesh.platform.mailbox import body_text
from mesh.platform.testing import DatabaseFactory, SmtpCapture


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
