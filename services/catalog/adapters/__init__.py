"""The catalog's store: the abstract port and its MongoDB-wire implementation."""
