"""Everything that talks to the outside: Elasticsearch, the catalog, Kafka, protobuf."""
