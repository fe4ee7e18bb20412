"""The analytics store: PostgreSQL in production, a fake in unit tests."""
