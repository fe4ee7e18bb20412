"""The explicit mapping of the product index.

Only what the server's integ-test distribution has: the standard analyzer (no
analysis-common, so no stemming, synonyms or n-grams; typo tolerance comes from fuzzy
queries instead), keyword/numeric/date/boolean fields and a completion field.
"""

from __future__ import annotations

from typing import Any, Final

# No explicit refresh_interval: Elasticsearch's default refreshes every second while the
# index is being searched and not at all while nobody searches it (a search then waits for
# one refresh), so a stream of stock changes with no shopper searching costs no new segments.
SETTINGS: Final[dict[str, Any]] = {
    "number_of_shards": 1,
    "number_of_replicas": 0,
}

MAPPINGS: Final[dict[str, Any]] = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"},
        "name": {"type": "text", "analyzer": "standard"},
        "description": {"type": "text", "analyzer": "standard"},
        "category": {
            "type": "keyword",
            "fields": {"text": {"type": "text", "analyzer": "standard"}},
        },
        "image_url": {"type": "keyword", "index": False, "doc_values": False},
        "price": {"type": "double"},
        "price_minor": {"type": "long"},
        "currency": {"type": "keyword"},
        "inventory": {"type": "integer"},
        "in_stock": {"type": "boolean"},
        "created_at": {"type": "date"},
        "rating_average": {"type": "double"},
        "rating_count": {"type": "integer"},
        "product_version": {"type": "long"},
        "stock_version": {"type": "long"},
        "rating_version": {"type": "long"},
        "listed": {"type": "boolean"},
        "deleted": {"type": "boolean"},
        "suggest": {
            "type": "completion",
            "analyzer": "standard",
            "preserve_separators": True,
            "max_input_length": 100,
        },
    },
}
