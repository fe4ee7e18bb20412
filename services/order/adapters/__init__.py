"""Everything that talks to the outside: PostgreSQL and the other services."""
