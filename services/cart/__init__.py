"""Cart service: one shopping cart per user in Redis (Valkey)."""
