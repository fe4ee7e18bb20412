"""The user service end to end over gRPC, on real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import asyncpg
import grpc
import jwt
import pytest
from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from redis.asyncio import Redis
from shop.events.v1 import events_pb2
from shop.user.v1 import user_pb2, user_pb2_grpc

from .harness import ADMIN_EMAIL, ADMIN_PASSWORD, GATEWAY_SECRET, ORDER_SECRET, Running

PASSWORD = "correct horse 42"
Stub = user_pb2_grpc.UserServiceAsyncStub
Metadata = tuple[tuple[str, str], ...]
Forwarded = Callable[[str], Metadata]


def new_email() -> str:
    return f"user-{secrets.token_hex(4)}@example.com"


def from_address(address: str, proof: str | None = None) -> Metadata:
    """A call the way the gateway makes it: the client before it in x-forwarded-for is what
    the client sent, the last entry the address the gateway saw; `proof` its service token."""
    forwarded = (("x-forwarded-for", f"198.51.100.7, {address}"),)
    return forwarded if proof is None else (*forwarded, ("x-forwarded-by", proof))


def bearer(token: str) -> Metadata:
    return (("authorization", f"Bearer {token}"),)


async def issue_token(users: Stub, client_id: str, secret: str) -> str:
    issued = await users.IssueServiceToken(
        user_pb2.IssueServiceTokenRequest(client_id=client_id, client_secret=secret)
    )
    token: str = issued.access_token
    return token


@pytest.fixture(scope="module")
async def gateway_token(user_service: Running) -> str:
    return await issue_token(
        user_pb2_grpc.UserServiceStub(user_service.channel), "gateway", GATEWAY_SECRET
    )


@pytest.fixture
def client(gateway_token: str) -> Forwarded:
    """Metadata of a call the gateway forwards for the client at `address`."""
    return lambda address: from_address(address, gateway_token)


async def register_and_login(users: Stub, email: str | None = None) -> user_pb2.LoginResponse:
    email = email or new_email()
    await users.Register(user_pb2.RegisterRequest(email=email, password=PASSWORD, display_name="A"))
    response: user_pb2.LoginResponse = await users.Login(
        user_pb2.LoginRequest(email=email, password=PASSWORD)
    )
    return response


async def expect_code(call: object, code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call  # type: ignore[misc]
    assert error.value.code() is code, error.value.details()
    return error.value


def details(error: grpc.aio.AioRpcError) -> list[object]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    found: list[object] = []
    for packed in status.details:
        for kind in (error_details_pb2.ErrorInfo, error_details_pb2.BadRequest):
            if packed.Is(kind.DESCRIPTOR):
                message = kind()
                packed.Unpack(message)
                found.append(message)
    return found


async def test_login_issues_an_rs256_token_that_verifies_with_the_published_jwks(
    users: Stub,
) -> None:
    email = new_email()
    tokens = await register_and_login(users, email)
    assert tokens.expires_in == 900 and tokens.token_type == "Bearer"
    assert tokens.user.email == email and list(tokens.user.roles) == ["customer"]

    jwks = await users.GetJwks(user_pb2.GetJwksRequest())
    header = jwt.get_unverified_header(tokens.access_token)
    assert header["alg"] == "RS256"
    [key] = [k for k in jwks.keys if k.kid == header["kid"]]
    public = jwt.PyJWK({"kty": key.kty, "n": key.n, "e": key.e, "kid": key.kid, "alg": key.alg})
    claims = jwt.decode(
        tokens.access_token, public, algorithms=["RS256"], audience="shopmesh", issuer="shopmesh"
    )
    assert claims["sub"] == tokens.user.id
    assert claims["roles"] == ["customer"]
    assert claims["exp"] - claims["iat"] == 900


async def test_signing_up_with_a_taken_email_answers_like_a_new_sign_up(
    users: Stub, user_service: Running
) -> None:
    # Issue 12 replaces ALREADY_EXISTS here: the answer must not tell who has an account.
    email = new_email()
    first = await users.Register(
        user_pb2.RegisterRequest(email=email, password=PASSWORD, display_name="A")
    )
    again = await users.Register(
        user_pb2.RegisterRequest(email=email.upper(), password=PASSWORD, display_name="B")
    )
    assert again.id != first.id and again.email == email.upper()
    assert again.roles == first.roles and not again.email_verified
    assert {f.name for f, _ in again.ListFields()} == {f.name for f, _ in first.ListFields()}
    conn = await asyncpg.connect(user_service.environ["DATABASE_URL"])
    try:
        accounts = await conn.fetch("SELECT id FROM users WHERE lower(email) = lower($1)", email)
    finally:
        await conn.close()
    assert [str(row["id"]) for row in accounts] == [first.id]
    notice = await first_user_event(user_service, first.id, "sign_up_with_existing_email")
    assert notice.sign_up_with_existing_email.email == email


async def test_the_verification_link_verifies_the_account(
    users: Stub, user_service: Running
) -> None:
    tokens = await register_and_login(users)
    assert not tokens.user.email_verified
    registered = await first_user_event(user_service, tokens.user.id, "user_registered")
    url = registered.user_registered.verification_url
    assert url.startswith("http://localhost:8080/v1/users:verifyEmail?token=")
    token = parse_qs(urlsplit(url).query)["token"][0]
    await expect_code(
        users.VerifyEmail(user_pb2.VerifyEmailRequest(token=tokens.access_token)),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    answer = await users.VerifyEmail(user_pb2.VerifyEmailRequest(token=token))
    assert answer.email_verified
    me = await users.GetUser(
        user_pb2.GetUserRequest(id=tokens.user.id), metadata=bearer(tokens.access_token)
    )
    assert me.email_verified


async def test_a_weak_password_comes_back_as_field_violations(users: Stub) -> None:
    error = await expect_code(
        users.Register(
            user_pb2.RegisterRequest(email=new_email(), password="short", display_name="A")
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    [bad_request] = [d for d in details(error) if isinstance(d, error_details_pb2.BadRequest)]
    assert {v.field for v in bad_request.field_violations} == {"password"}
    assert any("10 characters" in v.description for v in bad_request.field_violations)


async def test_a_refresh_token_used_twice_revokes_the_newer_token_too(users: Stub) -> None:
    tokens = await register_and_login(users)
    newer = await users.RefreshToken(
        user_pb2.RefreshTokenRequest(refresh_token=tokens.refresh_token)
    )
    assert newer.refresh_token != tokens.refresh_token and newer.access_token

    reuse = await expect_code(
        users.RefreshToken(user_pb2.RefreshTokenRequest(refresh_token=tokens.refresh_token)),
        grpc.StatusCode.UNAUTHENTICATED,
    )
    assert any(
        isinstance(d, error_details_pb2.ErrorInfo) and d.reason == "REFRESH_TOKEN_REUSED"
        for d in details(reuse)
    )
    await expect_code(
        users.RefreshToken(user_pb2.RefreshTokenRequest(refresh_token=newer.refresh_token)),
        grpc.StatusCode.UNAUTHENTICATED,
    )


async def test_racing_refreshes_with_one_token_leave_no_usable_token(users: Stub) -> None:
    tokens = await register_and_login(users)
    request = user_pb2.RefreshTokenRequest(refresh_token=tokens.refresh_token)
    results = await asyncio.gather(
        *(users.RefreshToken(request) for _ in range(5)), return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, user_pb2.RefreshTokenResponse)]
    losers = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(winners) == 1 and len(losers) == 4
    assert all(e.code() is grpc.StatusCode.UNAUTHENTICATED for e in losers)
    await expect_code(
        users.RefreshToken(user_pb2.RefreshTokenRequest(refresh_token=winners[0].refresh_token)),
        grpc.StatusCode.UNAUTHENTICATED,
    )


async def test_the_refresh_token_is_stored_only_as_a_hash(
    users: Stub, user_service: Running
) -> None:
    tokens = await register_and_login(users)
    conn = await asyncpg.connect(user_service.environ["DATABASE_URL"])
    try:
        stored = await conn.fetch("SELECT token_hash FROM refresh_tokens")
    finally:
        await conn.close()
    assert stored and all(row["token_hash"] != tokens.refresh_token for row in stored)


async def test_logout_revokes_the_refresh_token(users: Stub) -> None:
    tokens = await register_and_login(users)
    await users.Logout(
        user_pb2.LogoutRequest(refresh_token=tokens.refresh_token),
        metadata=bearer(tokens.access_token),
    )
    await expect_code(
        users.RefreshToken(user_pb2.RefreshTokenRequest(refresh_token=tokens.refresh_token)),
        grpc.StatusCode.UNAUTHENTICATED,
    )


@pytest.mark.parametrize("exists", [True, False])
async def test_failed_logins_slow_down_then_lock_and_never_tell_if_the_email_exists(
    users: Stub, client: Forwarded, exists: bool
) -> None:
    email = new_email()
    if exists:
        await users.Register(
            user_pb2.RegisterRequest(email=email, password=PASSWORD, display_name="A")
        )
    wrong = user_pb2.LoginRequest(email=email, password="wrong password 1")
    right = user_pb2.LoginRequest(email=email, password=PASSWORD)
    metadata = client(f"10.2.{secrets.randbelow(250)}.1")
    answers = []
    for _ in range(2):
        error = await expect_code(
            users.Login(wrong, metadata=metadata), grpc.StatusCode.UNAUTHENTICATED
        )
        answers.append(error.details())
    # Slowed down: the next attempt within the delay is refused before any password check.
    await expect_code(users.Login(right, metadata=metadata), grpc.StatusCode.RESOURCE_EXHAUSTED)
    await asyncio.sleep(1.1)
    await expect_code(users.Login(wrong, metadata=metadata), grpc.StatusCode.UNAUTHENTICATED)
    # Locked now for this address: even the right password is refused.
    locked = await expect_code(
        users.Login(right, metadata=metadata), grpc.StatusCode.RESOURCE_EXHAUSTED
    )
    assert answers == ["wrong e-mail or password"] * 2
    assert locked.details() == "too many failed sign-in attempts; try again later"
    # Issue 12: the lock is the failing address's own; the owner elsewhere still gets in.
    elsewhere = users.Login(right, metadata=client("10.3.0.1"))
    if exists:
        assert (await elsewhere).access_token
    else:
        await expect_code(elsewhere, grpc.StatusCode.UNAUTHENTICATED)


@pytest.mark.parametrize("proof", ["none", "forged", "order", "customer", "gateway"])
async def test_a_forwarded_address_counts_only_next_to_the_gateways_token(
    users: Stub, gateway_token: str, proof: str
) -> None:
    """Issue 12: a caller that reaches the service's port directly cannot pick a fresh throttle
    bucket per attempt by naming another address: without the gateway's token in
    x-forwarded-by every attempt counts against the caller's own (peer) address."""
    proofs = {
        "none": None,
        "forged": "forged.proof.token",
        "order": await issue_token(users, "order", ORDER_SECRET),
        "customer": (await register_and_login(users)).access_token,
        "gateway": gateway_token,
    }
    wrong = user_pb2.LoginRequest(email=new_email(), password="wrong password 1")
    codes, first = [], 3 * secrets.randbelow(80)
    for attempt in range(3):
        metadata = from_address(f"203.0.113.{first + attempt}", proofs[proof])
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await users.Login(wrong, metadata=metadata)
        codes.append(error.value.code())
    fresh_bucket_each_time = [grpc.StatusCode.UNAUTHENTICATED] * 3
    # Two failures of one account from one address slow that address down (the harness's
    # LOGIN_ACCOUNT_SLOWDOWN_AFTER=2): the third attempt is refused before any check.
    one_bucket = [*fresh_bucket_each_time[:2], grpc.StatusCode.RESOURCE_EXHAUSTED]
    assert codes == (fresh_bucket_each_time if proof == "gateway" else one_bucket)


async def test_logout_publishes_the_revoked_session_for_the_gateway(
    users: Stub, user_service: Running
) -> None:
    tokens = await register_and_login(users)
    session = jwt.decode(tokens.access_token, options={"verify_signature": False})["sid"]
    await users.Logout(
        user_pb2.LogoutRequest(refresh_token=tokens.refresh_token),
        metadata=bearer(tokens.access_token),
    )
    redis = Redis.from_url(user_service.environ["REDIS_URL"])
    try:
        ttl = await redis.ttl(f"shop:revoked-session:{session}")
    finally:
        await redis.aclose()
    assert 890 <= ttl <= 901


async def test_logout_with_someone_elses_refresh_token_leaves_their_session(
    users: Stub,
) -> None:
    ann, bob = await register_and_login(users), await register_and_login(users)
    await users.Logout(
        user_pb2.LogoutRequest(refresh_token=bob.refresh_token), metadata=bearer(ann.access_token)
    )
    assert (
        await users.RefreshToken(user_pb2.RefreshTokenRequest(refresh_token=bob.refresh_token))
    ).access_token


async def test_customers_reach_only_their_own_user_and_staff_go_by_permission(
    users: Stub, client: Forwarded
) -> None:
    ann = await register_and_login(users)
    bob = await register_and_login(users)
    own = await users.GetUser(
        user_pb2.GetUserRequest(id=ann.user.id), metadata=bearer(ann.access_token)
    )
    assert own.id == ann.user.id
    await expect_code(
        users.GetUser(user_pb2.GetUserRequest(id=bob.user.id), metadata=bearer(ann.access_token)),
        grpc.StatusCode.PERMISSION_DENIED,
    )
    await expect_code(
        users.ListUsers(user_pb2.ListUsersRequest(), metadata=bearer(ann.access_token)),
        grpc.StatusCode.PERMISSION_DENIED,
    )

    admin = await users.Login(
        user_pb2.LoginRequest(email=ADMIN_EMAIL, password=ADMIN_PASSWORD),
        metadata=client("10.9.9.9"),
    )
    assert "admin" in admin.user.roles
    page = await users.ListUsers(
        user_pb2.ListUsersRequest(page_size=1, email_prefix=bob.user.email[:13]),
        metadata=bearer(admin.access_token),
    )
    assert [u.id for u in page.users] == [bob.user.id] and page.total_size == 1


async def test_update_user_by_field_mask(users: Stub, client: Forwarded) -> None:
    ann = await register_and_login(users)
    renamed = await users.UpdateUser(
        user_pb2.UpdateUserRequest(
            # Fields outside the mask (roles here) are ignored.
            user=user_pb2.User(id=ann.user.id, display_name="Annie", roles=["admin"]),
            update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
        ),
        metadata=bearer(ann.access_token),
    )
    assert renamed.display_name == "Annie" and list(renamed.roles) == ["customer"]
    assert renamed.email == ann.user.email
    await expect_code(
        users.UpdateUser(
            user_pb2.UpdateUserRequest(
                user=user_pb2.User(id=ann.user.id, roles=["admin"]),
                update_mask=field_mask_pb2.FieldMask(paths=["roles"]),
            ),
            metadata=bearer(ann.access_token),
        ),
        grpc.StatusCode.PERMISSION_DENIED,
    )
    admin = await users.Login(
        user_pb2.LoginRequest(email=ADMIN_EMAIL, password=ADMIN_PASSWORD),
        metadata=client("10.9.9.8"),
    )
    promoted = await users.UpdateUser(
        user_pb2.UpdateUserRequest(
            user=user_pb2.User(id=ann.user.id, roles=["customer-service"]),
            update_mask=field_mask_pb2.FieldMask(paths=["roles"]),
        ),
        metadata=bearer(admin.access_token),
    )
    assert list(promoted.roles) == ["customer-service"]
    again = await users.Login(
        user_pb2.LoginRequest(email=ann.user.email, password=PASSWORD), metadata=client("10.9.9.7")
    )
    claims = jwt.decode(again.access_token, options={"verify_signature": False})
    assert claims["roles"] == ["customer-service"]


async def test_service_tokens_for_configured_clients_only(users: Stub) -> None:
    issued = await users.IssueServiceToken(
        user_pb2.IssueServiceTokenRequest(client_id="order", client_secret=ORDER_SECRET)
    )
    claims = jwt.decode(issued.access_token, options={"verify_signature": False})
    assert claims["sub"] == "service:order" and claims["roles"] == ["service"]
    await expect_code(
        users.IssueServiceToken(
            user_pb2.IssueServiceTokenRequest(client_id="order", client_secret="guess")
        ),
        grpc.StatusCode.UNAUTHENTICATED,
    )


async def first_user_event(user_service: Running, user_id: str, kind: str) -> events_pb2.Event:
    """The first event of `kind` about the user on shop.user.events."""
    consumer = AIOKafkaConsumer(
        "shop.user.events",
        bootstrap_servers=user_service.environ["KAFKA_BOOTSTRAP_SERVERS"],
        group_id=f"user-test-{secrets.token_hex(4)}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:

        async def find() -> events_pb2.Event:
            async for record in consumer:
                event = events_pb2.Event.FromString(record.value)
                if event.aggregate_id == user_id and event.WhichOneof("payload") == kind:
                    return event
            raise AssertionError("consumer stopped")

        return await asyncio.wait_for(find(), timeout=30)
    finally:
        await consumer.stop()


async def test_registration_publishes_user_registered_through_the_outbox(
    users: Stub, user_service: Running
) -> None:
    tokens = await register_and_login(users)
    event = await first_user_event(user_service, tokens.user.id, "user_registered")
    assert event.WhichOneof("payload") == "user_registered"
    assert event.user_registered.email == tokens.user.email
    assert event.aggregate_version == 1 and event.producer == "user"
    assert json.loads(json.dumps(list(event.user_registered.roles))) == ["customer"]
