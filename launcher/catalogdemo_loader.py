"""Loads the demo catalog through the catalog service's gRPC API, as an administrator."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import grpc
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shop.common.v1 import common_pb2
from shop.user.v1 import user_pb2, user_pb2_grpc

from launcher.democatalog import DemoProduct

logger = logging.getLogger(__name__)
_CONCURRENCY = 8
_DEADLINE_SECONDS = 10.0


async def admin_token(user_address: str, email: str, password: str) -> str:
    async with grpc.aio.insecure_channel(user_address) as channel:
        reply = await user_pb2_grpc.UserServiceStub(channel).Login(
            user_pb2.LoginRequest(email=email, password=password), timeout=_DEADLINE_SECONDS
        )
    return str(reply.access_token)


async def product_count(catalog_address: str, token: str) -> int:
    async with grpc.aio.insecure_channel(catalog_address) as channel:
        reply = await catalog_pb2_grpc.CatalogServiceStub(channel).ListProducts(
            catalog_pb2.ListProductsRequest(page_size=1),
            metadata=(("authorization", f"Bearer {token}"),),
            timeout=_DEADLINE_SECONDS,
        )
    return int(reply.total_size) or len(reply.products)


def to_proto(product: DemoProduct) -> catalog_pb2.Product:
    return catalog_pb2.Product(
        name=product.name,
        description=product.description,
        price=common_pb2.Money(
            currency_code="USD", units=product.price_units, nanos=product.price_nanos
        ),
        category=product.category,
        image_url=product.image_url,
        inventory=product.inventory,
        attributes=dict(product.attributes),
    )


async def load_catalog(catalog_address: str, token: str, products: Sequence[DemoProduct]) -> int:
    """Create every product; returns how many were created."""
    metadata = (("authorization", f"Bearer {token}"),)
    limit = asyncio.Semaphore(_CONCURRENCY)
    async with grpc.aio.insecure_channel(catalog_address) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)

        async def create(product: DemoProduct) -> None:
            async with limit:
                await stub.CreateProduct(
                    catalog_pb2.CreateProductRequest(product=to_proto(product)),
                    metadata=metadata,
                    timeout=_DEADLINE_SECONDS,
                )

        # The first product of each category alone, then the rest at once: products of a new
        # category created together race to create the category, and the losers' duplicate
        # inserts (handled by the catalog) would each be an ERROR line in FerretDB's and
        # PostgreSQL's logs on the first screen of `shop up`.
        firsts = list({p.category: p for p in reversed(products)}.values())
        await asyncio.gather(*(create(p) for p in firsts))
        first_ids = {id(p) for p in firsts}
        await asyncio.gather(*(create(p) for p in products if id(p) not in first_ids))
    return len(products)
