"""The payment service end to end over gRPC, on real PostgreSQL and Kafka, with tokens
from the real user service."""

from __future__ import annotations

import asyncio
import secrets
import uuid

import asyncpg
import grpc
import pytest
from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from shop.common.v1 import common_pb2
from shop.events.v1 import events_pb2
from shop.payment.v1 import payment_pb2, payment_pb2_grpc
from shop.user.v1 import user_pb2, user_pb2_grpc

from ..user.harness import ADMIN_EMAIL, ADMIN_PASSWORD, ORDER_SECRET, Running
from .conftest import SEARCH_SECRET, CountingProvider

Stub = payment_pb2_grpc.PaymentServiceAsyncStub
Metadata = tuple[tuple[str, str], ...]


async def service_token(user_service: Running, client_id: str, secret: str) -> Metadata:
    users = user_pb2_grpc.UserServiceStub(user_service.channel)
    issued = await users.IssueServiceToken(
        user_pb2.IssueServiceTokenRequest(client_id=client_id, client_secret=secret)
    )
    return (("authorization", f"Bearer {issued.access_token}"),)


@pytest.fixture(scope="module")
async def order_service_token(user_service: Running) -> Metadata:
    return await service_token(user_service, "order", ORDER_SECRET)


async def customer(user_service: Running) -> tuple[str, Metadata]:
    users = user_pb2_grpc.UserServiceStub(user_service.channel)
    email, password = f"buyer-{secrets.token_hex(4)}@example.com", "correct horse 42"
    await users.Register(user_pb2.RegisterRequest(email=email, password=password, display_name="B"))
    login = await users.Login(user_pb2.LoginRequest(email=email, password=password))
    return login.user.id, (("authorization", f"Bearer {login.access_token}"),)


async def staff(user_service: Running) -> Metadata:
    users = user_pb2_grpc.UserServiceStub(user_service.channel)
    login = await users.Login(user_pb2.LoginRequest(email=ADMIN_EMAIL, password=ADMIN_PASSWORD))
    return (("authorization", f"Bearer {login.access_token}"),)


@pytest.fixture
def payments(payment_service: Running) -> Stub:
    return payment_pb2_grpc.PaymentServiceStub(payment_service.channel)


def usd(minor: int) -> common_pb2.Money:
    return common_pb2.Money(currency_code="USD", units=minor // 100, nanos=minor % 100 * 10**7)


def charge_request(
    token: str = "tok_visa", amount: int = 4_999, key: str | None = None, user_id: str = "u-1"
) -> payment_pb2.ChargeRequest:
    order_id = key or str(uuid.uuid4())
    return payment_pb2.ChargeRequest(
        order_id=order_id,
        idempotency_key=order_id,
        user_id=user_id,
        amount=usd(amount),
        payment_token=token,
    )


async def ledger_rows(database_url: str, key: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM payments WHERE idempotency_key = $1", key
        )
        return count
    finally:
        await conn.close()


def error_reason(error: grpc.aio.AioRpcError) -> str:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    for packed in status.details:
        if packed.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            packed.Unpack(info)
            return str(info.reason)
    raise AssertionError("no ErrorInfo in the status")


async def test_the_same_key_twice_gives_one_ledger_row_and_one_processor_call(
    payments: Stub,
    order_service_token: Metadata,
    provider: CountingProvider,
    payment_database: str,
) -> None:
    request = charge_request()
    first = await payments.Charge(request, metadata=order_service_token)
    second = await payments.Charge(request, metadata=order_service_token)
    assert first.status == payment_pb2.PAYMENT_STATUS_SUCCEEDED
    assert second == first
    assert await ledger_rows(payment_database, request.idempotency_key) == 1
    assert provider.charges_for(request.idempotency_key) == 1


async def test_concurrent_charges_with_one_key_on_two_replicas_charge_once(
    payments: Stub,
    second_payment_replica: Running,
    order_service_token: Metadata,
    provider: CountingProvider,
    payment_database: str,
) -> None:
    replica = payment_pb2_grpc.PaymentServiceStub(second_payment_replica.channel)
    request = charge_request()
    results = await asyncio.gather(
        *(stub.Charge(request, metadata=order_service_token) for stub in [payments, replica] * 10)
    )
    assert {payment.id for payment in results} == {results[0].id}
    assert all(p.status == payment_pb2.PAYMENT_STATUS_SUCCEEDED for p in results)
    assert await ledger_rows(payment_database, request.idempotency_key) == 1
    assert provider.charges_for(request.idempotency_key) == 1


async def test_a_processing_error_fails_once_and_the_retry_with_the_key_succeeds(
    payments: Stub,
    order_service_token: Metadata,
    provider: CountingProvider,
    payment_database: str,
) -> None:
    request = charge_request("tok_processingError")
    with pytest.raises(grpc.aio.AioRpcError) as first:
        await payments.Charge(request, metadata=order_service_token)
    assert first.value.code() is grpc.StatusCode.UNAVAILABLE
    assert error_reason(first.value) == "PROVIDER_UNAVAILABLE"
    assert await ledger_rows(payment_database, request.idempotency_key) == 0

    retried = await payments.Charge(request, metadata=order_service_token)
    assert retried.status == payment_pb2.PAYMENT_STATUS_SUCCEEDED
    again = await payments.Charge(request, metadata=order_service_token)
    assert again == retried
    assert await ledger_rows(payment_database, request.idempotency_key) == 1
    assert provider.charges_for(request.idempotency_key) == 2


@pytest.mark.parametrize(
    ("token", "code"),
    [
        ("tok_chargeDeclined", payment_pb2.FAILURE_CODE_CARD_DECLINED),
        ("tok_insufficientFunds", payment_pb2.FAILURE_CODE_INSUFFICIENT_FUNDS),
    ],
)
async def test_a_decline_is_a_failed_payment_with_its_code(
    payments: Stub, order_service_token: Metadata, token: str, code: int
) -> None:
    payment = await payments.Charge(charge_request(token), metadata=order_service_token)
    assert payment.status == payment_pb2.PAYMENT_STATUS_FAILED
    assert payment.failure_code == code
    assert payment.failure_message


async def test_a_slow_processor_outlasting_one_try_is_answered_on_the_retry(
    payments: Stub, order_service_token: Metadata, provider: CountingProvider
) -> None:
    request = charge_request("tok_slow")
    # One try of the mesh's retry policy: 2 s.
    with pytest.raises(grpc.aio.AioRpcError) as first:
        await payments.Charge(request, metadata=order_service_token, timeout=2.0)
    assert first.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    retried = await payments.Charge(request, metadata=order_service_token, timeout=2.0)
    assert retried.status == payment_pb2.PAYMENT_STATUS_SUCCEEDED
    assert provider.charges_for(request.idempotency_key) == 1


async def test_a_card_number_is_refused_and_never_stored(
    payments: Stub, order_service_token: Metadata, payment_database: str
) -> None:
    request = charge_request("tok_4242424242424242")
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await payments.Charge(request, metadata=order_service_token)
    assert error.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "4242" not in (error.value.details() or "")
    assert await ledger_rows(payment_database, request.idempotency_key) == 0


async def test_refunds_never_exceed_what_was_captured(
    payments: Stub, order_service_token: Metadata
) -> None:
    payment = await payments.Charge(charge_request(amount=10_000), metadata=order_service_token)
    partial = await payments.Refund(
        payment_pb2.RefundRequest(
            payment_id=payment.id, idempotency_key="r-" + payment.id, amount=usd(4_000)
        ),
        metadata=order_service_token,
    )
    assert partial.status == payment_pb2.PAYMENT_STATUS_PARTIALLY_REFUNDED
    assert partial.refunded_amount == usd(4_000)

    with pytest.raises(grpc.aio.AioRpcError) as over:
        await payments.Refund(
            payment_pb2.RefundRequest(
                payment_id=payment.id, idempotency_key="r2-" + payment.id, amount=usd(6_001)
            ),
            metadata=order_service_token,
        )
    assert over.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(over.value) == "REFUND_EXCEEDS_CAPTURED"

    rest = await payments.Refund(
        payment_pb2.RefundRequest(payment_id=payment.id, idempotency_key="r3-" + payment.id),
        metadata=order_service_token,
    )
    assert rest.status == payment_pb2.PAYMENT_STATUS_REFUNDED
    assert rest.refunded_amount == usd(10_000)
    assert [r.amount for r in rest.refunds] == [usd(4_000), usd(6_000)]


async def test_concurrent_refunds_together_stay_within_the_capture(
    payments: Stub, order_service_token: Metadata, user_service: Running
) -> None:
    payment = await payments.Charge(charge_request(amount=10_000), metadata=order_service_token)
    attempts = await asyncio.gather(
        *(
            payments.Refund(
                payment_pb2.RefundRequest(
                    payment_id=payment.id, idempotency_key=f"r{i}-{payment.id}", amount=usd(3_000)
                ),
                metadata=order_service_token,
            )
            for i in range(6)
        ),
        return_exceptions=True,
    )
    refused = [a for a in attempts if isinstance(a, grpc.aio.AioRpcError)]
    assert len(refused) == 3
    assert all(e.code() is grpc.StatusCode.FAILED_PRECONDITION for e in refused)
    # Reading payments is not the order service's business (the policy): staff read it.
    final = await payments.GetPayment(
        payment_pb2.GetPaymentRequest(id=payment.id), metadata=await staff(user_service)
    )
    assert final.refunded_amount == usd(9_000) and len(final.refunds) == 3


async def test_a_refund_key_replays_the_same_refund(
    payments: Stub, order_service_token: Metadata, provider: CountingProvider
) -> None:
    payment = await payments.Charge(charge_request(amount=2_000), metadata=order_service_token)
    request = payment_pb2.RefundRequest(
        payment_id=payment.id, idempotency_key="once-" + payment.id, amount=usd(500)
    )
    first, second = await asyncio.gather(
        payments.Refund(request, metadata=order_service_token),
        payments.Refund(request, metadata=order_service_token),
    )
    assert first.refunded_amount == second.refunded_amount == usd(500)
    assert sum(1 for r in provider.refunds if r.idempotency_key == request.idempotency_key) == 1


async def test_customers_neither_charge_nor_refund_and_read_only_their_own_payments(
    payments: Stub, user_service: Running, order_service_token: Metadata, payment_database: str
) -> None:
    ann_id, ann = await customer(user_service)
    _, bob = await customer(user_service)
    refused_charge = charge_request(user_id=ann_id)
    with pytest.raises(grpc.aio.AioRpcError) as own_charge:
        await payments.Charge(refused_charge, metadata=ann)
    assert own_charge.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert error_reason(own_charge.value) == "INTERNAL_METHOD"
    assert await ledger_rows(payment_database, refused_charge.idempotency_key) == 0

    payment = await payments.Charge(charge_request(user_id=ann_id), metadata=order_service_token)
    assert payment.user_id == ann_id
    refund = payment_pb2.RefundRequest(payment_id=payment.id, idempotency_key="self-" + payment.id)
    with pytest.raises(grpc.aio.AioRpcError) as own_refund:
        await payments.Refund(refund, metadata=ann)
    assert own_refund.value.code() is grpc.StatusCode.PERMISSION_DENIED
    mine = await payments.GetPayment(payment_pb2.GetPaymentRequest(id=payment.id), metadata=ann)
    assert mine.id == payment.id
    assert mine.status == payment_pb2.PAYMENT_STATUS_SUCCEEDED and mine.refunded_amount == usd(0)
    with pytest.raises(grpc.aio.AioRpcError) as other:
        await payments.GetPayment(payment_pb2.GetPaymentRequest(id=payment.id), metadata=bob)
    assert other.value.code() is grpc.StatusCode.NOT_FOUND


async def test_another_workloads_service_token_cannot_read_or_move_money(
    payments: Stub, user_service: Running, order_service_token: Metadata
) -> None:
    search = await service_token(user_service, "search", SEARCH_SECRET)
    payment = await payments.Charge(charge_request(), metadata=order_service_token)
    calls = (
        payments.GetPayment(payment_pb2.GetPaymentRequest(id=payment.id), metadata=search),
        payments.Charge(charge_request(), metadata=search),
        payments.Refund(
            payment_pb2.RefundRequest(payment_id=payment.id, idempotency_key="s-" + payment.id),
            metadata=search,
        ),
    )
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call
        assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
        assert error_reason(refused.value) == "WORKLOAD_NOT_ALLOWED"


async def test_charges_publish_payment_events_through_the_outbox(
    payments: Stub, order_service_token: Metadata, payment_service: Running
) -> None:
    succeeded = await payments.Charge(charge_request(), metadata=order_service_token)
    failed = await payments.Charge(
        charge_request("tok_chargeDeclined"), metadata=order_service_token
    )
    consumer = AIOKafkaConsumer(
        "shop.payment.events",
        bootstrap_servers=payment_service.environ["KAFKA_BOOTSTRAP_SERVERS"],
        group_id=f"payment-test-{secrets.token_hex(4)}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    wanted = {succeeded.id: "payment_succeeded", failed.id: "payment_failed"}
    seen: dict[str, str] = {}
    await consumer.start()
    try:

        async def collect() -> None:
            async for record in consumer:
                event = events_pb2.Event.FromString(record.value)
                if event.aggregate_id in wanted:
                    seen[event.aggregate_id] = str(event.WhichOneof("payload"))
                    assert record.key == event.aggregate_id.encode()
                if len(seen) == len(wanted):
                    return

        await asyncio.wait_for(collect(), timeout=30)
    finally:
        await consumer.stop()
    assert seen == wanted
