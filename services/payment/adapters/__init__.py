"""The payment service's adapters: PostgreSQL, the sandbox processor, protos and events."""
