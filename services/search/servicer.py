"""SearchService over gRPC: proto in, use case, proto out."""

from __future__ import annotations

from typing import Any

from grpc import aio
from shop.search.v1 import search_pb2, search_pb2_grpc

from .adapters.protos import params_from_request, response_from_results, suggest_response
from .service_layer.search import SearchService

Context = aio.ServicerContext[Any, Any]


class SearchServicer(search_pb2_grpc.SearchServiceServicer):
    def __init__(self, search: SearchService) -> None:
        self._search = search

    async def Search(
        self, request: search_pb2.SearchRequest, context: Context
    ) -> search_pb2.SearchResponse:
        results = await self._search.search(params_from_request(request))
        return response_from_results(results)

    async def Suggest(
        self, request: search_pb2.SuggestRequest, context: Context
    ) -> search_pb2.SuggestResponse:
        return suggest_response(await self._search.suggest(request.prefix, request.limit))
