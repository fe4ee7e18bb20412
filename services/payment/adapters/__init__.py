"""The payment service's ports to the outside: PostgreSQL and the card processor."""
