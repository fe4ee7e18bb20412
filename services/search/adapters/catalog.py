"""The catalog's products, a page at a time, over CatalogService.ListProducts (a public read)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc

from ..domain.documents import ProductFacts
from .protos import facts_from_product


class CatalogPages:
    def __init__(self, stub: catalog_pb2_grpc.CatalogServiceAsyncStub) -> None:
        self._stub = stub

    async def pages(self, page_size: int) -> AsyncIterator[list[ProductFacts]]:
        token = ""
        while True:
            page = await self._stub.ListProducts(
                catalog_pb2.ListProductsRequest(page_size=page_size, page_token=token)
            )
            yield [facts_from_product(product) for product in page.products]
            if not (token := page.next_page_token):
                return
