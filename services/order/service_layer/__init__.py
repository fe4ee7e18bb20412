"""Use cases of the order service: checkout saga, recovery, cancellation, queries."""
