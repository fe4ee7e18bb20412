"""The cart's view of the catalog, over CatalogService (GetProduct, BatchGetProducts)."""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc

from ..domain.model import ProductInfo
from ..service_layer.ports import ProductCatalog
from .protos import money_from_proto


class GrpcProductCatalog(ProductCatalog):
    def __init__(self, stub: catalog_pb2_grpc.CatalogServiceAsyncStub) -> None:
        self._stub = stub

    async def get(self, product_id: str) -> ProductInfo | None:
        try:
            product = await self._stub.GetProduct(catalog_pb2.GetProductRequest(id=product_id))
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        return _info(product)

    async def get_many(self, product_ids: Sequence[str]) -> dict[str, ProductInfo]:
        if not product_ids:
            return {}
        response = await self._stub.BatchGetProducts(
            catalog_pb2.BatchGetProductsRequest(ids=list(product_ids))
        )
        return {product.id: _info(product) for product in response.products}


def _info(product: catalog_pb2.Product) -> ProductInfo:
    return ProductInfo(
        id=product.id,
        name=product.name,
        unit_price=money_from_proto(product.price),
        inventory=product.inventory,
        image_url=product.image_url,
    )
