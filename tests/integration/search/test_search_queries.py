"""Search and Suggest over gRPC on a real Elasticsearch: relevance, typos, filters, facets,
sorting, paging, highlights, completion, and odd input that must never fail."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from shop.search.v1 import search_pb2

from services.search.domain.documents import ProductFacts, RatingFacts, product_seen, rating_seen

from ..service_harness import TokenKeys
from .search_harness import SearchShop, query, search_shop

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 1, tzinfo=UTC)
# name, description, category, price in cents, inventory, (average, count)
CATALOG = [
    ("Blue Ceramic Mug", "A sturdy mug for coffee & tea", "kitchen", 1299, 10, (4.5, 2)),
    ("Red Ceramic Mug", "Holds <b>hot</b> chocolate", "kitchen", 999, 0, (3.0, 1)),
    ("Chef Knife", "Sharp stainless steel blade", "kitchen", 4999, 3, (5.0, 4)),
    ("Trail Running Shoes", "Lightweight shoes for trail running", "sports", 8999, 7, (4.0, 3)),
    ("Yoga Mat", "Non-slip mat for yoga and pilates", "sports", 2500, 12, (0.0, 0)),
    ("Espresso Machine", "Brews espresso and cappuccino", "appliances", 29900, 2, (4.8, 5)),
    ("Standing Desk", "Electric height adjustable desk", "furniture", 54900, 1, (4.2, 6)),
]


@pytest.fixture(scope="module")
def keys() -> TokenKeys:
    return TokenKeys()


@pytest.fixture
async def shop(
    ferretdb_url: str, kafka_bootstrap: str, elasticsearch_url: str, keys: TokenKeys
) -> AsyncIterator[SearchShop]:
    async with search_shop(ferretdb_url, kafka_bootstrap, elasticsearch_url, keys) as s:
        for i, (name, description, category, cents, stock, (avg, count)) in enumerate(CATALOG):
            pid = f"p{i}"
            facts = ProductFacts(
                id=pid,
                name=name,
                description=description,
                category=category,
                image_url=f"https://img.example.com/{pid}.png",
                price_minor=cents,
                currency="USD",
                price=cents / 100,
                inventory=stock,
                created_at=START + timedelta(days=i),
                version=1,
            )
            await s.index.apply(pid, product_seen(facts))
            if count:
                await s.index.apply(pid, rating_seen(RatingFacts(pid, avg, count, 1)))
        await s.index.refresh(s.environ["SEARCH_INDEX_ALIAS"])
        yield s


def names(response: search_pb2.SearchResponse) -> list[str]:
    return [hit.name for hit in response.products]


async def test_full_text_with_typos_highlights_and_relevance(shop: SearchShop) -> None:
    mugs = await shop.search.Search(query("ceramic mug"))
    assert set(names(mugs)) == {"Blue Ceramic Mug", "Red Ceramic Mug"}
    assert (await shop.search.Search(query("ceramc mugg"))).total_size == 2  # typos
    assert names(await shop.search.Search(query("espreso"))) == ["Espresso Machine"]
    # Category text is searched too.
    assert set(names(await shop.search.Search(query("furniture")))) == {"Standing Desk"}

    blue = (await shop.search.Search(query("blue mug"))).products[0]
    assert blue.name == "Blue Ceramic Mug"
    assert [(h.field, list(h.snippets)) for h in blue.highlights] == [
        ("name", ["<em>Blue</em> Ceramic <em>Mug</em>"])
    ]
    sturdy = (await shop.search.Search(query("sturdy mug"))).products[0]
    highlights = {h.field: list(h.snippets) for h in sturdy.highlights}
    assert highlights["description"] == ["A <em>sturdy</em> <em>mug</em> for coffee &amp; tea"]
    assert blue.price.units == 12 and blue.price.nanos == 990_000_000
    assert blue.price.currency_code == "USD"
    assert (blue.inventory, blue.rating_average, blue.rating_count) == (10, 4.5, 2)
    assert blue.image_url.endswith("p0.png") and blue.score > 0

    red = (await shop.search.Search(query("chocolate"))).products[0]
    # Product text is escaped in snippets: only the <em> tags are markup.
    assert [h.snippets[0] for h in red.highlights] == [
        "Holds &lt;b&gt;hot&lt;&#x2F;b&gt; <em>chocolate</em>"
    ]


async def test_filters_and_facets(shop: SearchShop) -> None:
    everything = await shop.search.Search(query())
    assert everything.total_size == len(CATALOG)
    categories = {f.category: f.count for f in everything.facets.categories}
    assert categories == {"kitchen": 3, "sports": 2, "appliances": 1, "furniture": 1}
    ranges = {f.label: f.count for f in everything.facets.price_ranges}
    assert ranges == {"0-25": 2, "25-50": 2, "50-100": 1, "100-250": 0, "250-500": 1, "500+": 1}
    top = everything.facets.price_ranges[-1]
    assert top.min_price == 500 and not top.HasField("max_price")

    kitchen = await shop.search.Search(query(category="kitchen", in_stock=True))
    assert set(names(kitchen)) == {"Blue Ceramic Mug", "Chef Knife"}
    priced = await shop.search.Search(query(min_price=25, max_price=90))
    assert set(names(priced)) == {"Yoga Mat", "Chef Knife", "Trail Running Shoes"}
    rated = await shop.search.Search(query(min_rating=4.5))
    assert set(names(rated)) == {"Blue Ceramic Mug", "Chef Knife", "Espresso Machine"}
    # Facets count what matches, not the whole index.
    assert {f.category: f.count for f in rated.facets.categories} == {
        "kitchen": 2,
        "appliances": 1,
    }

    with pytest.raises(grpc.aio.AioRpcError) as bad_range:
        await shop.search.Search(query(min_price=50, max_price=10))
    assert bad_range.value.code() is grpc.StatusCode.INVALID_ARGUMENT


async def test_sorting_and_paging(shop: SearchShop) -> None:
    cheapest = await shop.search.Search(query(order_by=search_pb2.SEARCH_ORDER_PRICE_ASC))
    assert names(cheapest)[:2] == ["Red Ceramic Mug", "Blue Ceramic Mug"]
    dearest = await shop.search.Search(query(order_by=search_pb2.SEARCH_ORDER_PRICE_DESC))
    assert names(dearest)[0] == "Standing Desk"
    best = await shop.search.Search(query(order_by=search_pb2.SEARCH_ORDER_RATING))
    assert names(best)[:2] == ["Chef Knife", "Espresso Machine"]
    newest = await shop.search.Search(query(order_by=search_pb2.SEARCH_ORDER_NEWEST))
    assert names(newest)[0] == "Standing Desk"

    seen: list[str] = []
    token = ""
    while True:
        page = await shop.search.Search(
            query(order_by=search_pb2.SEARCH_ORDER_PRICE_ASC, page_size=3, page_token=token)
        )
        assert page.total_size == len(CATALOG) and len(page.products) <= 3
        seen += names(page)
        if not (token := page.next_page_token):
            break
    assert seen == names(cheapest)

    with pytest.raises(grpc.aio.AioRpcError) as foreign:
        first = await shop.search.Search(query(page_size=2))
        await shop.search.Search(query("mug", page_size=2, page_token=first.next_page_token))
    assert foreign.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as forged:
        await shop.search.Search(query(page_token="bm90IGEgdG9rZW4="))
    assert forged.value.code() is grpc.StatusCode.INVALID_ARGUMENT


async def test_suggest_completes_any_word_of_a_name(shop: SearchShop) -> None:
    async def suggest(prefix: str, limit: int = 0) -> list[str]:
        reply = await shop.search.Suggest(search_pb2.SuggestRequest(prefix=prefix, limit=limit))
        return [s.text for s in reply.suggestions]

    assert set(await suggest("cer")) == {"Blue Ceramic Mug", "Red Ceramic Mug"}
    assert await suggest("Espr") == ["Espresso Machine"]
    assert await suggest("runn") == ["Trail Running Shoes"]
    assert await suggest("mug", limit=1) in (["Blue Ceramic Mug"], ["Red Ceramic Mug"])
    assert await suggest("zzzz") == []
    first = (await shop.search.Suggest(search_pb2.SuggestRequest(prefix="chef"))).suggestions[0]
    assert (first.product_id, first.category) == ("p2", "kitchen")


ODD = [
    '"',
    '"unbalanced',
    "a~",
    "~2",
    "/",
    "/regex.*/",
    "\\",
    "\\\\",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "AND",
    "OR NOT",
    "*",
    "?",
    ":",
    "name:mug",
    "^3",
    "-",
    "+",
    "&&",
    "||",
    "!",
    "<",
    ">",
    "=",
    "\u0000",
    "\t\n",
    "😀",
    "🧑‍🍳🔪",
    "ｍｕｇ",
    "mùg",
    "مگ",
    "杯子",
    "\u200b",
    "%",
    "_",
    "'",
    "`",
    "$",
    "#",
    "@",
    " ",
]


def odd_text(rng: random.Random, max_len: int) -> str:
    parts = [rng.choice(ODD + ["mug", "lamp", "x" * rng.randint(1, 80)]) for _ in range(60)]
    return "".join(rng.choice([p, p + " "]) for p in parts)[: rng.randint(1, max_len)]


async def test_no_query_however_odd_fails(shop: SearchShop) -> None:
    rng = random.Random(20261127)
    texts = [*ODD, "x" * 500, "mug " * 125, "a" * 500, *(odd_text(rng, 500) for _ in range(250))]

    async def search(text: str) -> None:
        order = rng.choice(list(search_pb2.SearchOrder.values()))
        try:
            await shop.search.Search(query(text, order_by=order, min_rating=rng.random() * 5))
        except grpc.aio.AioRpcError as error:
            raise AssertionError(
                f"{text!r} failed with {error.code()}: {error.details()}"
            ) from error

    async def suggest(text: str) -> None:
        prefix = text[:100] if text.strip() else "x" + text[:99]
        try:
            await shop.search.Suggest(search_pb2.SuggestRequest(prefix=prefix))
        except grpc.aio.AioRpcError as error:
            raise AssertionError(
                f"{prefix!r} failed with {error.code()}: {error.details()}"
            ) from error

    for chunk in range(0, len(texts), 20):
        batch = texts[chunk : chunk + 20]
        await asyncio.gather(*(search(t) for t in batch), *(suggest(t) for t in batch))

    with pytest.raises(grpc.aio.AioRpcError) as too_long:
        await shop.search.Search(query("x" * 501))
    assert too_long.value.code() is grpc.StatusCode.INVALID_ARGUMENT
