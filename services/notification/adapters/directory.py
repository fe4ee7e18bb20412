"""Asking the user service for a contact the events have not brought (yet)."""

from __future__ import annotations

import grpc
from shop.user.v1 import user_pb2, user_pb2_grpc

from ..domain.model import Contact


class GrpcUserDirectory:
    """UserService.GetUser with the notification service's own token."""

    def __init__(self, users: user_pb2_grpc.UserServiceAsyncStub) -> None:
        self._users = users

    async def lookup(self, user_id: str) -> Contact | None:
        try:
            user = await self._users.GetUser(user_pb2.GetUserRequest(id=user_id))
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        # Version 0: any event about the user supersedes what was looked up.
        return Contact(user.id, user.email, user.display_name, version=0)
