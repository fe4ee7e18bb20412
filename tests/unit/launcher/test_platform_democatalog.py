"""The demo catalog is deterministic, plausible and valid for CreateProduct."""

from __future__ import annotations

import re

from protovalidate import Validator
from shop.catalog.v1 import catalog_pb2

from launcher.catalogdemo_loader import to_proto
from launcher.democatalog import CATEGORIES, generate


def test_same_seed_same_catalog() -> None:
    assert generate() == generate()
    assert generate(seed=1) != generate(seed=2)


def test_a_few_hundred_products_in_several_categories() -> None:
    products = generate()
    assert 200 <= len(products) <= 500
    categories = {p.category for p in products}
    assert len(categories) >= 6 and categories == {c.slug for c in CATEGORIES}
    assert len({p.name for p in products}) == len(products)
    assert len({p.sku for p in products}) == len(products)


def test_products_look_like_a_shop() -> None:
    for product in generate():
        assert re.fullmatch(r"[a-z0-9-]{1,64}", product.category)
        assert 0 < product.price_cents < 100_000
        assert product.price_cents % 100 in (49, 99)
        assert product.inventory >= 0
        assert product.name and len(product.name) <= 200


def test_each_product_is_a_valid_create_request() -> None:
    validator = Validator()
    for product in generate(per_category=5):
        message = to_proto(product)
        validator.validate(catalog_pb2.CreateProductRequest(product=message))
        assert message.price.units * 100 + message.price.nanos // 10_000_000 == product.price_cents
