"""Use cases of the search service: searching, keeping the index current, reindexing."""
