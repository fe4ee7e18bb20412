"""Between protobuf messages and the search domain: catalog products in, hits out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shop.catalog.v1 import catalog_pb2
from shop.search.v1 import search_pb2

from mesh.clock import from_timestamp
from mesh.money import from_minor_units, minor_unit_digits

from ..domain.documents import ProductFacts
from ..domain.query import Results, SearchParams, SortOrder

_NANOS = 1_000_000_000
ORDERS = {
    search_pb2.SEARCH_ORDER_UNSPECIFIED: SortOrder.RELEVANCE,
    search_pb2.SEARCH_ORDER_RELEVANCE: SortOrder.RELEVANCE,
    search_pb2.SEARCH_ORDER_PRICE_ASC: SortOrder.PRICE_ASC,
    search_pb2.SEARCH_ORDER_PRICE_DESC: SortOrder.PRICE_DESC,
    search_pb2.SEARCH_ORDER_RATING: SortOrder.RATING,
    search_pb2.SEARCH_ORDER_NEWEST: SortOrder.NEWEST,
}


def facts_from_product(product: catalog_pb2.Product) -> ProductFacts:
    currency = product.price.currency_code
    digits = minor_unit_digits(currency)
    units, nanos = product.price.units, product.price.nanos
    return ProductFacts(
        id=product.id,
        name=product.name,
        description=product.description,
        category=product.category,
        image_url=product.image_url,
        price_minor=units * 10**digits + nanos * 10**digits // _NANOS,
        currency=currency,
        price=units + nanos / _NANOS,
        inventory=product.inventory,
        created_at=from_timestamp(product.create_time),
        version=product.version,
        rating_average=product.rating_average,
        rating_count=product.rating_count,
    )


def params_from_request(request: search_pb2.SearchRequest) -> SearchParams:
    return SearchParams(
        text=request.query,
        category=request.category,
        min_price=request.min_price if request.HasField("min_price") else None,
        max_price=request.max_price if request.HasField("max_price") else None,
        min_rating=request.min_rating if request.HasField("min_rating") else None,
        in_stock=request.in_stock,
        order=ORDERS[request.order_by],
        page_size=request.page_size,
        page_token=request.page_token,
    )


def response_from_results(results: Results) -> search_pb2.SearchResponse:
    return search_pb2.SearchResponse(
        products=[_hit(hit.source, hit.score, hit.highlights) for hit in results.hits],
        facets=search_pb2.SearchFacets(
            categories=[
                search_pb2.CategoryFacet(category=name, count=count)
                for name, count in results.categories
            ],
            price_ranges=[
                search_pb2.PriceRangeFacet(
                    min_price=bucket.min_price,
                    max_price=bucket.max_price,
                    count=bucket.count,
                    label=bucket.label,
                )
                for bucket in results.price_buckets
            ],
        ),
        total_size=results.total,
        next_page_token=results.next_page_token,
    )


def suggest_response(found: Sequence[dict[str, Any]]) -> search_pb2.SuggestResponse:
    """Suggestions from the `_source` (id, name, category) of each suggested product."""
    return search_pb2.SuggestResponse(
        suggestions=[
            search_pb2.Suggestion(
                text=source.get("name", ""),
                product_id=source["id"],
                category=source.get("category", ""),
            )
            for source in found
        ]
    )


def _hit(
    source: dict[str, Any], score: float, highlights: dict[str, list[str]]
) -> search_pb2.SearchHit:
    return search_pb2.SearchHit(
        id=source["id"],
        name=source.get("name", ""),
        description=source.get("description", ""),
        price=from_minor_units(source.get("currency", "USD"), int(source.get("price_minor", 0))),
        category=source.get("category", ""),
        image_url=source.get("image_url", ""),
        inventory=int(source.get("inventory", 0)),
        rating_average=float(source.get("rating_average", 0.0)),
        rating_count=int(source.get("rating_count", 0)),
        highlights=[
            search_pb2.Highlight(field=name, snippets=snippets)
            for name, snippets in highlights.items()
        ],
        score=score,
    )
