"""UserService over gRPC: proto in, use case, proto out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from google.protobuf import empty_pb2
from grpc import aio
from shop.user.v1 import user_pb2, user_pb2_grpc

from mesh.auth.forwarded import ClientAddresses
from mesh.auth.identity import current_identity

from .adapters.protos import changes_from_proto, jwk_to_proto, user_to_proto
from .adapters.signing_keys import PublicJwk
from .service_layer.accounts import Accounts
from .service_layer.authentication import Authenticator

Context = aio.ServicerContext[Any, Any]

# The public keys to publish right now.
JwksSource = Callable[[], Sequence[PublicJwk]]


class UserServicer(user_pb2_grpc.UserServiceServicer):
    def __init__(
        self,
        accounts: Accounts,
        auth: Authenticator,
        jwks: JwksSource,
        clients: ClientAddresses,
    ) -> None:
        self._accounts = accounts
        self._auth = auth
        self._jwks = jwks
        # Sign-ins and sign-ups are counted per client address (mesh.auth.forwarded).
        self._clients = clients

    async def Register(self, request: user_pb2.RegisterRequest, context: Context) -> user_pb2.User:
        client = await self._clients.of(context)
        user = await self._accounts.register(
            request.email, request.password, request.display_name, client
        )
        return user_to_proto(user)

    async def VerifyEmail(
        self, request: user_pb2.VerifyEmailRequest, context: Context
    ) -> user_pb2.VerifyEmailResponse:
        await self._accounts.verify_email(request.token)
        return user_pb2.VerifyEmailResponse(email_verified=True)

    async def Login(
        self, request: user_pb2.LoginRequest, context: Context
    ) -> user_pb2.LoginResponse:
        client = await self._clients.of(context)
        tokens, user = await self._auth.login(request.email, request.password, client)
        return user_pb2.LoginResponse(
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_in=tokens.expires_in,
            token_type="Bearer",
            user=user_to_proto(user),
        )

    async def RefreshToken(
        self, request: user_pb2.RefreshTokenRequest, context: Context
    ) -> user_pb2.RefreshTokenResponse:
        tokens = await self._auth.refresh(request.refresh_token)
        return user_pb2.RefreshTokenResponse(
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_in=tokens.expires_in,
            token_type="Bearer",
        )

    async def Logout(self, request: user_pb2.LogoutRequest, context: Context) -> empty_pb2.Empty:
        await self._auth.logout(current_identity(), request.refresh_token)
        return empty_pb2.Empty()

    async def GetUser(self, request: user_pb2.GetUserRequest, context: Context) -> user_pb2.User:
        return user_to_proto(await self._accounts.get(current_identity(), request.id))

    async def UpdateUser(
        self, request: user_pb2.UpdateUserRequest, context: Context
    ) -> user_pb2.User:
        changes = changes_from_proto(request)
        user = await self._accounts.update(current_identity(), request.user.id, changes)
        return user_to_proto(user)

    async def ListUsers(
        self, request: user_pb2.ListUsersRequest, context: Context
    ) -> user_pb2.ListUsersResponse:
        page = await self._accounts.list(
            current_identity(), request.page_size, request.page_token, request.email_prefix
        )
        return user_pb2.ListUsersResponse(
            users=[user_to_proto(user) for user in page.users],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )

    async def GetJwks(
        self, request: user_pb2.GetJwksRequest, context: Context
    ) -> user_pb2.GetJwksResponse:
        return user_pb2.GetJwksResponse(keys=[jwk_to_proto(key) for key in self._jwks()])

    async def IssueServiceToken(
        self, request: user_pb2.IssueServiceTokenRequest, context: Context
    ) -> user_pb2.IssueServiceTokenResponse:
        token = self._auth.issue_service_token(request.client_id, request.client_secret)
        return user_pb2.IssueServiceTokenResponse(
            access_token=token.access_token, expires_in=token.expires_in, token_type="Bearer"
        )
