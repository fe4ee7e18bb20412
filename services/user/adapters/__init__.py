"""The user service's ports to the outside: PostgreSQL, argon2, key files."""
