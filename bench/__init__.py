"""`make bench`: the side-by-side benchmark of the platform (see bench/README.md)."""
