"""Everything that talks to the outside: Redis, the catalog, Kafka, protobuf."""
