"""Between catalog domain objects and their protobuf messages."""

from __future__ import annotations

from shop.catalog.v1 import catalog_pb2
from shop.common.v1 import common_pb2

from mesh.clock import to_timestamp
from mesh.money import from_minor_units, to_minor_units

from ..domain.model import Category, Product, ProductDraft
from ..domain.money import Money


def money_to_proto(money: Money) -> common_pb2.Money:
    return from_minor_units(money.currency, money.minor)


def money_from_proto(money: common_pb2.Money, field: str) -> Money:
    """INVALID_ARGUMENT naming `field` for an amount finer than the currency's minor unit."""
    currency, minor = to_minor_units(money, field)
    return Money(minor, currency)


def product_to_proto(product: Product) -> catalog_pb2.Product:
    return catalog_pb2.Product(
        id=product.id,
        name=product.name,
        description=product.description,
        price=money_to_proto(product.price),
        category=product.category,
        image_url=product.image_url,
        inventory=product.inventory,
        attributes=dict(product.attributes),
        create_time=to_timestamp(product.created_at),
        update_time=to_timestamp(product.updated_at),
        version=product.version,
        rating_average=product.rating_average,
        rating_count=product.rating_count,
    )


def draft_from_proto(product: catalog_pb2.Product) -> ProductDraft:
    return ProductDraft(
        name=product.name,
        description=product.description,
        price=money_from_proto(product.price, "product.price")
        if product.HasField("price")
        else None,
        category=product.category,
        image_url=product.image_url,
        inventory=product.inventory,
        attributes=dict(product.attributes),
    )


def category_to_proto(category: Category) -> catalog_pb2.Category:
    return catalog_pb2.Category(
        name=category.name,
        display_name=category.display_name,
        product_count=category.product_count,
    )
