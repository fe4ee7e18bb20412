"""Pure parts of the store adapters: SQL, URLs, broker configuration, the mailbox reader."""

from __future__ import annotations

import mailbox
import os
from pathlib import Path

import pytest

from launcher.mailbox import Mailbox, body_text
from launcher.process import read_pid, write_pid_file
from launcher.stores.base import endpoints_of
from launcher.stores.kafka import kafka_cluster_id, scram_users, server_properties, users_digest
from launcher.stores.postgres import database_url, ensure_database_sql
from launcher.toolchain import ToolchainMissing, require_tool


def test_database_url_switches_database_and_login() -> None:
    base = "postgresql://postgres:pw@127.0.0.1:15432/postgres"
    assert database_url(base, "shop_user") == "postgresql://postgres:pw@127.0.0.1:15432/shop_user"
    assert (
        database_url(base, "shop_user", "shop_user", "p/w")
        == "postgresql://shop_user:p%2Fw@127.0.0.1:15432/shop_user"
    )


def test_database_sql_is_idempotent_and_refuses_odd_names() -> None:
    sql = ensure_database_sql("shop_order", "shop_order", "it's")
    assert "WHERE NOT EXISTS" in sql and "\\gexec" in sql
    assert "PASSWORD 'it''s'" in sql
    with pytest.raises(ValueError):
        ensure_database_sql("shop; DROP DATABASE x")


def test_endpoints_of_urls_and_bootstrap_lists() -> None:
    assert endpoints_of("redis://:pw@10.0.0.1:6380/0") == [("10.0.0.1", 6380)]
    assert endpoints_of("a:1,b:2") == [("a", 1), ("b", 2)]


KAFKA_PASSWORDS = {"admin": "admin-pw", "controller": "controller-pw", "order": "order-pw"}


def kafka_settings(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines())


def test_kafka_runs_as_single_kraft_node(tmp_path: Path) -> None:
    text = server_properties(
        19092, 19093, tmp_path, tls_dir=tmp_path / "tls", passwords=KAFKA_PASSWORDS
    )
    assert "process.roles=broker,controller" in text
    assert "controller.quorum.voters=1@127.0.0.1:19093" in text
    assert "offsets.topic.replication.factor=1" in text


def test_kafka_serves_clients_only_over_sasl_ssl_with_acls(tmp_path: Path) -> None:
    settings = kafka_settings(
        server_properties(
            19092, 19093, tmp_path, tls_dir=tmp_path / "tls", passwords=KAFKA_PASSWORDS
        )
    )
    assert settings["listeners"] == "SASL_SSL://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert settings["advertised.listeners"] == "SASL_SSL://localhost:19092"
    assert "PLAINTEXT:PLAINTEXT" not in settings["listener.security.protocol.map"]
    assert "CONTROLLER:SASL_PLAINTEXT" in settings["listener.security.protocol.map"]
    assert settings["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert settings["ssl.truststore.location"] == str(tmp_path / "tls" / "ca.pem")
    assert settings["allow.everyone.if.no.acl.found"] == "false"
    assert settings["super.users"] == "User:admin;User:controller"
    assert (
        'username="admin" password="admin-pw"'
        in settings["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"]
    )


def test_a_test_sessions_plaintext_listener_is_on_loopback_only(tmp_path: Path) -> None:
    settings = kafka_settings(
        server_properties(
            19092,
            19093,
            tmp_path,
            tls_dir=tmp_path,
            passwords=KAFKA_PASSWORDS,
            plaintext_port=19094,
        )
    )
    assert settings["listeners"].endswith(",LOOPBACK://127.0.0.1:19094")
    assert "LOOPBACK:PLAINTEXT" in settings["listener.security.protocol.map"]
    assert settings["super.users"].endswith(";User:ANONYMOUS")


def test_kafka_scram_users_leave_out_the_controller_login() -> None:
    assert scram_users(KAFKA_PASSWORDS) == {"admin": "admin-pw", "order": "order-pw"}
    changed = {**KAFKA_PASSWORDS, "order": "other"}
    assert users_digest(changed) != users_digest(KAFKA_PASSWORDS)
    assert users_digest({**KAFKA_PASSWORDS, "controller": "x"}) == users_digest(KAFKA_PASSWORDS)


def test_mailbox_reads_a_maildir(tmp_path: Path) -> None:
    box = mailbox.Maildir(tmp_path / "mail", create=True)
    box.add(b"From: a@x.com\r\nTo: Ada <ada@example.com>\r\nSubject: One\r\n\r\nHello Ada\r\n")
    box.add(b"From: a@x.com\r\nTo: bob@example.com\r\nSubject: Two\r\n\r\nHello Bob\r\n")
    reader = Mailbox(tmp_path / "mail")
    assert sorted(m["Subject"] for m in reader.messages()) == ["One", "Two"]
    (ada,) = reader.to("ADA@example.com")
    assert body_text(ada).strip() == "Hello Ada"
    assert reader.wait_for(lambda m: m["Subject"] == "Two", timeout=0)["To"] == "bob@example.com"
    with pytest.raises(TimeoutError):
        reader.wait_for(lambda m: False, timeout=0)
    reader.clear()
    assert reader.messages() == []


def test_an_empty_mailbox_has_no_messages(tmp_path: Path) -> None:
    assert Mailbox(tmp_path / "nothing").messages() == []


def test_kafka_cluster_ids_never_look_like_options() -> None:
    ids = {kafka_cluster_id() for _ in range(500)}
    assert len(ids) == 500
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)


def test_pid_files_recognise_a_reused_pid(tmp_path: Path) -> None:
    path = tmp_path / "x.pid"
    write_pid_file(path, os.getpid())
    assert read_pid(path) == os.getpid()
    path.write_text(f"{os.getpid()} 1\n")
    assert read_pid(path) is None
    path.write_text(f"{os.getpid()}\n")
    assert read_pid(path) == os.getpid()


def test_a_missing_toolchain_says_what_to_install() -> None:
    with pytest.raises(ToolchainMissing, match="install the frobnicator"):
        require_tool("surely-not-installed-frobnicator", "install the frobnicator")
