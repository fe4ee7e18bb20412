"""Between catalog domain objects and their protobuf messages."""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

from shop.catalog.v1 import catalog_pb2
from shop.common.v1 import common_pb2

from mesh.clock import to_timestamp
from mesh.money import from_minor_units, to_minor_units

from ..domain.model import Category, Product, ProductDraft
from ..domain.money import Money

# Messages kept: the decoded products the cache keeps, so a hot page is always built already.
_MESSAGES: Final = 4096


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


class ProductMessages:
    """Product messages by the domain object they were built from, most recent first.

    Building a message costs more than everything else a read does (two timestamps, money, a
    map): a page of twenty spent half the catalog's CPU on it. The cache hands out one
    `Product` object per stored version (it decodes each Redis value once), so a message
    built for that object is right for as long as the object is served. Keyed by identity,
    holding the object, so the key cannot be reused by another one. The messages handed out
    are shared: callers copy them into a response or serialize them, never change them.
    """

    def __init__(self, size: int = _MESSAGES) -> None:
        self._size = size
        self._built: OrderedDict[int, tuple[Product, catalog_pb2.Product]] = OrderedDict()

    def of(self, product: Product) -> catalog_pb2.Product:
        key = id(product)
        built = self._built.get(key)
        if built is not None and built[0] is product:
            self._built.move_to_end(key)
            return built[1]
        message = product_to_proto(product)
        self._built[key] = (product, message)
        if len(self._built) > self._size:
            self._built.popitem(last=False)
        return message


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
