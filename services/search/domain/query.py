"""Search requests as Elasticsearch query bodies, and their responses as results (no I/O).

Free text only ever reaches Elasticsearch inside `multi_match`, which analyzes it as plain
text: no query syntax is parsed, so quotes, `~`, `/`, `\\`, brackets or emoji cannot make a
search fail. The text is also bounded (words and characters) so a huge input cannot exceed
the clause limits that fuzzy expansion runs into.
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from mesh.pagination import PageTokenCodec, Scalar, invalid_page_token

DEFAULT_PAGE_SIZE: Final = 20
MAX_PAGE_SIZE: Final = 100
MAX_QUERY_WORDS: Final = 12
MAX_WORD_CHARS: Final = 50
SEARCHED_FIELDS: Final = ("name^3", "category.text^2", "description")
# Highlighted index field -> field name in the response.
HIGHLIGHTED: Final = {"name": "name", "description": "description", "category.text": "category"}
# Price facet buckets in currency units: [from, to), the last one open.
PRICE_RANGES: Final[tuple[tuple[float, float | None], ...]] = (
    (0, 25),
    (25, 50),
    (50, 100),
    (100, 250),
    (250, 500),
    (500, None),
)


class SortOrder(enum.Enum):
    RELEVANCE = "relevance"
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"
    RATING = "rating"
    NEWEST = "newest"


_SORTS: Final[dict[SortOrder, list[dict[str, str]]]] = {
    SortOrder.RELEVANCE: [{"_score": "desc"}, {"id": "asc"}],
    SortOrder.PRICE_ASC: [{"price": "asc"}, {"id": "asc"}],
    SortOrder.PRICE_DESC: [{"price": "desc"}, {"id": "asc"}],
    SortOrder.RATING: [{"rating_average": "desc"}, {"rating_count": "desc"}, {"id": "asc"}],
    SortOrder.NEWEST: [{"created_at": "desc"}, {"id": "asc"}],
}


def _sort_values(after: Sequence[Scalar]) -> list[Scalar]:
    return list(after)


# A page token holds the sort values of the previous page's last hit (`search_after`) and is
# valid only for the same search (SearchParams.fingerprint).
SEARCH_AFTER: Final[PageTokenCodec[list[Scalar]]] = PageTokenCodec(_sort_values, _sort_values)


@dataclass(frozen=True, slots=True)
class SearchParams:
    text: str = ""
    category: str = ""
    min_price: float | None = None
    max_price: float | None = None
    min_rating: float | None = None
    in_stock: bool = False
    order: SortOrder = SortOrder.RELEVANCE
    page_size: int = 0
    page_token: str = ""

    @property
    def limit(self) -> int:
        return min(self.page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)

    def fingerprint(self) -> str:
        """Identifies the result list a page token belongs to (everything but paging)."""
        key = [
            normalized_text(self.text),
            self.category,
            self.min_price,
            self.max_price,
            self.min_rating,
            self.in_stock,
            self.order.value,
        ]
        return hashlib.sha256(json.dumps(key).encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Hit:
    source: dict[str, Any]
    score: float
    highlights: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PriceBucket:
    min_price: float
    max_price: float | None
    count: int

    @property
    def label(self) -> str:
        low = f"{self.min_price:g}"
        return f"{low}+" if self.max_price is None else f"{low}-{self.max_price:g}"


@dataclass(frozen=True, slots=True)
class Results:
    hits: list[Hit]
    total: int
    categories: list[tuple[str, int]]
    price_buckets: list[PriceBucket]
    next_page_token: str


def normalized_text(text: str) -> str:
    """At most MAX_QUERY_WORDS words of at most MAX_WORD_CHARS characters each."""
    words = text.split()[:MAX_QUERY_WORDS]
    return " ".join(word[:MAX_WORD_CHARS] for word in words)


def search_body(params: SearchParams) -> dict[str, Any]:
    text = normalized_text(params.text)
    must: list[dict[str, Any]] = []
    if text:
        must.append(
            {
                "multi_match": {
                    "query": text,
                    "fields": list(SEARCHED_FIELDS),
                    "type": "best_fields",
                    "fuzziness": "AUTO",
                    "prefix_length": 1,
                    "max_expansions": 20,
                    "operator": "or",
                    # Short queries need every word, longer ones most of them.
                    "minimum_should_match": "2<75%",
                    "lenient": True,
                }
            }
        )
    body: dict[str, Any] = {
        "query": {"bool": {"must": must or [{"match_all": {}}], "filter": _filters(params)}},
        "sort": _SORTS[params.order],
        "size": params.limit + 1,
        "track_total_hits": True,
        "track_scores": True,
        "aggs": {
            "categories": {"terms": {"field": "category", "size": 50}},
            "prices": {
                "range": {
                    "field": "price",
                    "ranges": [
                        {"from": low, **({"to": high} if high is not None else {})}
                        for low, high in PRICE_RANGES
                    ],
                }
            },
        },
    }
    if text:
        body["highlight"] = {
            "encoder": "html",
            "pre_tags": ["<em>"],
            "post_tags": ["</em>"],
            "fields": {
                "name": {"number_of_fragments": 0},
                "description": {"fragment_size": 150, "number_of_fragments": 3},
                "category.text": {"number_of_fragments": 0},
            },
        }
    after = SEARCH_AFTER.decode(params.page_token, query=params.fingerprint())
    if after is not None:
        _check_search_after(after, _SORTS[params.order])
        body["search_after"] = after
    return body


# Sort values the index holds as longs: created_at (epoch millis) and counts.
_LONG_FIELDS: Final = frozenset({"created_at", "rating_count"})
_LONG_RANGE: Final = range(-(2**63), 2**63)


def _check_search_after(after: Sequence[Scalar], sort: Sequence[dict[str, str]]) -> None:
    """A token whose digest fits can still be forged (the digest is not secret): its values
    must have the sort's shape, or Elasticsearch would answer an error instead of a page."""
    fields = [next(iter(spec)) for spec in sort]
    if len(after) != len(fields) or not all(map(_sort_value_fits, fields, after)):
        raise invalid_page_token("is not a token issued by this service")


def _sort_value_fits(field_name: str, value: Scalar) -> bool:
    if field_name == "id":
        return isinstance(value, str)
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value in _LONG_RANGE
    # Scores, prices and averages are doubles (a missing one sorts as an infinity).
    return field_name not in _LONG_FIELDS and isinstance(value, float) and not math.isnan(value)


def _filters(params: SearchParams) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = [{"term": {"listed": True}}]
    if params.category:
        filters.append({"term": {"category": params.category}})
    price: dict[str, float] = {}
    if params.min_price is not None:
        price["gte"] = params.min_price
    if params.max_price is not None:
        price["lte"] = params.max_price
    if price:
        filters.append({"range": {"price": price}})
    if params.min_rating is not None:
        filters.append({"range": {"rating_average": {"gte": params.min_rating}}})
    if params.in_stock:
        filters.append({"term": {"in_stock": True}})
    return filters


def results_of(params: SearchParams, response: dict[str, Any]) -> Results:
    raw_hits = response["hits"]["hits"]
    page, more = raw_hits[: params.limit], len(raw_hits) > params.limit
    hits = [
        Hit(
            source=raw["_source"],
            score=float(raw.get("_score") or 0.0),
            highlights={
                HIGHLIGHTED[name]: snippets
                for name, snippets in raw.get("highlight", {}).items()
                if name in HIGHLIGHTED
            },
        )
        for raw in page
    ]
    after = list(page[-1]["sort"]) if more else None
    token = SEARCH_AFTER.encode(after, query=params.fingerprint())
    aggs = response["aggregations"]
    return Results(
        hits=hits,
        total=int(response["hits"]["total"]["value"]),
        categories=[(b["key"], int(b["doc_count"])) for b in aggs["categories"]["buckets"]],
        price_buckets=[
            PriceBucket(float(b.get("from", 0.0)), b.get("to"), int(b["doc_count"]))
            for b in aggs["prices"]["buckets"]
        ],
        next_page_token=token,
    )


def typed_prefix(prefix: str) -> str:
    """The prefix without control characters: nobody types them in a search box, and the
    completion suggester refuses some of them (0x00, 0x1E, 0x1F are its own separators)."""
    return "".join(ch for ch in prefix if ch >= " " and ch != "\x7f")[:100]


def suggest_body(prefix: str, limit: int) -> dict[str, Any]:
    return {
        "_source": ["id", "name", "category"],
        "suggest": {
            "products": {
                "prefix": typed_prefix(prefix),
                "completion": {
                    "field": "suggest",
                    # Room for several tails of one name before de-duplicating by product
                    # (not skip_duplicates: two products may share a tail like "Ceramic Mug").
                    "size": limit * 3,
                    "fuzzy": {"fuzziness": "AUTO", "prefix_length": 1, "min_length": 4},
                },
            }
        },
    }


def suggestions_of(response: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """Distinct products, best first, as their `_source` (id, name, category)."""
    seen: dict[str, dict[str, Any]] = {}
    for entry in response["suggest"]["products"]:
        for option in entry["options"]:
            source = option.get("_source") or {}
            if source.get("id") and source["id"] not in seen:
                seen[source["id"]] = source
    return list(seen.values())[:limit]
