"""Adapters to the user service: its JWKS, and service tokens for this service."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from google.protobuf import json_format
from grpc import aio
from shop.user.v1 import user_pb2, user_pb2_grpc

from mesh.auth.service_token import IssuedToken

__all__ = ["UserServiceKeySource", "UserServiceTokenIssuer"]


class UserServiceKeySource:
    """`KeySource` over UserService.GetJwks."""

    def __init__(self, channel: aio.Channel) -> None:
        self._stub = user_pb2_grpc.UserServiceStub(channel)

    async def fetch_jwks(self) -> Sequence[Mapping[str, Any]]:
        response = await self._stub.GetJwks(user_pb2.GetJwksRequest())
        return [
            json_format.MessageToDict(key, preserving_proto_field_name=True)
            for key in response.keys
        ]


class UserServiceTokenIssuer:
    """`TokenIssuer` over UserService.IssueServiceToken with this service's credentials."""

    def __init__(self, channel: aio.Channel, client_id: str, client_secret: str) -> None:
        self._stub = user_pb2_grpc.UserServiceStub(channel)
        self._request = user_pb2.IssueServiceTokenRequest(
            client_id=client_id, client_secret=client_secret
        )

    async def issue(self) -> IssuedToken:
        response = await self._stub.IssueServiceToken(self._request)
        return IssuedToken(response.access_token, float(response.expires_in))
