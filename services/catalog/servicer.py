"""CatalogService over gRPC: proto in, use case, proto out."""

from __future__ import annotations

from typing import Any

from google.protobuf import empty_pb2
from grpc import aio
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc

from mesh.auth import current_identity

from .adapters.protos import (
    ProductMessages,
    category_to_proto,
    draft_from_proto,
    product_to_proto,
)
from .domain.model import UPDATABLE_FIELDS
from .domain.reservations import StockLine
from .service_layer.catalog import CatalogService

Context = aio.ServicerContext[Any, Any]


class CatalogServicer(catalog_pb2_grpc.CatalogServiceServicer):
    def __init__(self, catalog: CatalogService, messages: ProductMessages | None = None) -> None:
        self._catalog = catalog
        self._messages = messages or ProductMessages()

    async def ListProducts(
        self, request: catalog_pb2.ListProductsRequest, context: Context
    ) -> catalog_pb2.ListProductsResponse:
        page = await self._catalog.list_products(
            request.category, request.page_size, request.page_token
        )
        return catalog_pb2.ListProductsResponse(
            products=[self._messages.of(p) for p in page.products],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )

    async def GetProduct(
        self, request: catalog_pb2.GetProductRequest, context: Context
    ) -> catalog_pb2.Product:
        return self._messages.of(await self._catalog.get_product(request.id))

    async def BatchGetProducts(
        self, request: catalog_pb2.BatchGetProductsRequest, context: Context
    ) -> catalog_pb2.BatchGetProductsResponse:
        found, missing = await self._catalog.batch_get(list(request.ids))
        return catalog_pb2.BatchGetProductsResponse(
            products=[self._messages.of(p) for p in found], missing_ids=missing
        )

    async def CreateProduct(
        self, request: catalog_pb2.CreateProductRequest, context: Context
    ) -> catalog_pb2.Product:
        product = await self._catalog.create_product(
            current_identity(), draft_from_proto(request.product)
        )
        return product_to_proto(product)

    async def UpdateProduct(
        self, request: catalog_pb2.UpdateProductRequest, context: Context
    ) -> catalog_pb2.Product:
        fields = frozenset(request.update_mask.paths) or _fields_set(request.product)
        product = await self._catalog.update_product(
            current_identity(),
            request.product.id,
            draft_from_proto(request.product),
            fields,
            expected_version=request.product.version,
        )
        return product_to_proto(product)

    async def DeleteProduct(
        self, request: catalog_pb2.DeleteProductRequest, context: Context
    ) -> empty_pb2.Empty:
        await self._catalog.delete_product(current_identity(), request.id)
        return empty_pb2.Empty()

    async def ListCategories(
        self, request: catalog_pb2.ListCategoriesRequest, context: Context
    ) -> catalog_pb2.ListCategoriesResponse:
        categories = await self._catalog.list_categories()
        return catalog_pb2.ListCategoriesResponse(
            categories=[category_to_proto(c) for c in categories]
        )

    async def ReserveStock(
        self, request: catalog_pb2.ReserveStockRequest, context: Context
    ) -> catalog_pb2.ReserveStockResponse:
        lines = [StockLine(item.product_id, item.quantity) for item in request.items]
        reserved = await self._catalog.reserve_stock(current_identity(), request.order_id, lines)
        return catalog_pb2.ReserveStockResponse(
            order_id=request.order_id,
            items=[
                catalog_pb2.ReservedItem(
                    product_id=line.product_id,
                    quantity=line.quantity,
                    remaining_inventory=line.remaining_inventory,
                    version=line.version,
                )
                for line in reserved
            ],
        )

    async def ReleaseStock(
        self, request: catalog_pb2.ReleaseStockRequest, context: Context
    ) -> catalog_pb2.ReleaseStockResponse:
        released = await self._catalog.release_stock(current_identity(), request.order_id)
        return catalog_pb2.ReleaseStockResponse(order_id=request.order_id, released=released)


def _fields_set(product: catalog_pb2.Product) -> frozenset[str]:
    """Without an update mask: every updatable field the request sets."""
    return frozenset(field.name for field, _ in product.ListFields()) & UPDATABLE_FIELDS
