"""How clients authenticate to Kafka: plaintext locally by default, SASL/SCRAM over TLS in the
cluster (every producer and consumer a user of its own, ACLs per topic on the broker).

Settings (read once, a bad value fails at start naming the variable):

| variable | meaning |
|---|---|
| `KAFKA_SECURITY_PROTOCOL` | `PLAINTEXT` (default), `SASL_SSL` or `SASL_PLAINTEXT` |
| `KAFKA_SASL_MECHANISM` | `SCRAM-SHA-512` (default) or `SCRAM-SHA-256` |
| `KAFKA_SASL_USERNAME` / `KAFKA_SASL_PASSWORD` | the workload's SCRAM credentials |
| `KAFKA_SSL_CAFILE` | PEM bundle of the CA that signed the broker (default: system CAs) |
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from mesh.settings import Env, SettingsError

__all__ = ["PLAINTEXT", "KafkaSecurity"]

PROTOCOLS: Final = ("PLAINTEXT", "SASL_SSL", "SASL_PLAINTEXT")
MECHANISMS: Final = ("SCRAM-SHA-512", "SCRAM-SHA-256")


@dataclass(frozen=True, slots=True)
class KafkaSecurity:
    protocol: str = "PLAINTEXT"
    mechanism: str = "SCRAM-SHA-512"
    username: str = ""
    password: str = field(default="", repr=False)
    ca_file: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> KafkaSecurity:
        env = Env(environ)
        protocol = env.choice("KAFKA_SECURITY_PROTOCOL", PROTOCOLS, "PLAINTEXT")
        if protocol == "PLAINTEXT":
            return PLAINTEXT
        username = env.optional_string("KAFKA_SASL_USERNAME")
        password = env.optional_string("KAFKA_SASL_PASSWORD")
        if not username:
            raise SettingsError("KAFKA_SASL_USERNAME", f"is required with {protocol}")
        if not password:
            raise SettingsError("KAFKA_SASL_PASSWORD", f"is required with {protocol}")
        ca_file = env.optional_string("KAFKA_SSL_CAFILE")
        if ca_file and not Path(ca_file).is_file():
            raise SettingsError("KAFKA_SSL_CAFILE", f"{ca_file} is not a file")
        return cls(
            protocol=protocol,
            mechanism=env.choice("KAFKA_SASL_MECHANISM", MECHANISMS, "SCRAM-SHA-512"),
            username=username,
            password=password,
            ca_file=Path(ca_file) if ca_file else None,
        )

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for AIOKafkaProducer, AIOKafkaConsumer and the admin client."""
        if self.protocol == "PLAINTEXT":
            return {"security_protocol": "PLAINTEXT"}
        options: dict[str, Any] = {
            "security_protocol": self.protocol,
            "sasl_mechanism": self.mechanism,
            "sasl_plain_username": self.username,
            "sasl_plain_password": self.password,
        }
        if self.protocol == "SASL_SSL":
            # Verifies the broker's certificate and host name (TLS 1.2 at least).
            context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            options["ssl_context"] = context
        return options


PLAINTEXT: Final = KafkaSecurity()
