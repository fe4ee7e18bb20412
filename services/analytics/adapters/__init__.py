"""Everything that talks to the outside: PostgreSQL, Kafka events, Prometheus, protobuf."""
