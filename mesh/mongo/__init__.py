"""Services on the MongoDB wire protocol (FerretDB v1): connecting, the versioned change log
that stands in for transactions, and the outbox relay that publishes its events."""

from mesh.mongo.database import (
    Collection,
    Database,
    Document,
    MongoDatabase,
    connect,
    create_indexes,
    open_database,
)
from mesh.mongo.ledger import LEDGER_INDEXES, Ledger, LedgerEntry, VersionTaken, entry_id
from mesh.mongo.outbox import MongoOutbox, MongoOutboxRelay, PendingEvent

__all__ = [
    "LEDGER_INDEXES",
    "Collection",
    "Database",
    "Document",
    "Ledger",
    "LedgerEntry",
    "MongoDatabase",
    "MongoOutbox",
    "MongoOutboxRelay",
    "PendingEvent",
    "VersionTaken",
    "connect",
    "create_indexes",
    "entry_id",
    "open_database",
]
