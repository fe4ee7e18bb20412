from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from mesh import rbac
from mesh.auth.identity import Identity
from mesh.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    UnavailableError,
)
from services.payment.adapters.sandbox import SandboxLatency, SandboxProvider
from services.payment.domain.cards import looks_like_card_number
from services.payment.domain.events import PaymentFailed, PaymentRefunded, PaymentSucceeded
from services.payment.domain.model import ChargeRequest, PaymentStatus
from services.payment.domain.provider import Approved, Declined, ProviderCharge, ProviderError
from services.payment.service_layer.payments import Payments

from .fakes import Clock, FakePaymentStore, ScriptedProvider

SERVICE = Identity.from_claims("service:order", frozenset({rbac.SERVICE}), "t")
ANN = Identity.from_claims("ann", frozenset({rbac.CUSTOMER}), "t")
BOB = Identity.from_claims("bob", frozenset({rbac.CUSTOMER}), "t")


def charge(key: str = "order-1", token: str = "tok_visa", amount: int = 5_000) -> ChargeRequest:
    return ChargeRequest(key, key, "ann", amount, "USD", token)


class World:
    def __init__(self, delay_seconds: float = 0.0) -> None:
        self.store = FakePaymentStore()
        self.provider = ScriptedProvider(delay_seconds)
        self.payments = Payments(
            self.store, self.provider, Clock(datetime(2026, 11, 27, tzinfo=UTC)), 5.0
        )


@pytest.fixture
def world() -> World:
    return World()


async def test_a_charge_succeeds_once_per_key(world: World) -> None:
    first = await world.payments.charge(SERVICE, charge())
    again = await world.payments.charge(SERVICE, charge())
    assert first.status is PaymentStatus.SUCCEEDED
    assert again == first
    assert len(world.provider.charges) == 1
    assert world.store.events == [PaymentSucceeded(first)]


async def test_concurrent_charges_with_one_key_call_the_processor_once() -> None:
    world = World(delay_seconds=0.05)
    results = await asyncio.gather(*(world.payments.charge(SERVICE, charge()) for _ in range(10)))
    assert len({p.id for p in results}) == 1
    assert len(world.provider.charges) == 1


async def test_a_decline_is_a_failed_payment_not_an_error(world: World) -> None:
    payment = await world.payments.charge(SERVICE, charge(token="tok_chargeDeclined"))
    assert payment.status is PaymentStatus.FAILED
    assert payment.failure_code == "card_declined"
    assert world.store.events == [PaymentFailed(payment)]
    assert (await world.payments.charge(SERVICE, charge(token="tok_chargeDeclined"))) == payment


async def test_a_processing_error_is_retryable_and_the_retry_succeeds(world: World) -> None:
    with pytest.raises(UnavailableError) as error:
        await world.payments.charge(SERVICE, charge(token="tok_processingError"))
    assert error.value.reason == "PROVIDER_UNAVAILABLE"
    assert world.store.payments == {}
    payment = await world.payments.charge(SERVICE, charge(token="tok_processingError"))
    assert payment.status is PaymentStatus.SUCCEEDED
    assert len(world.provider.charges) == 2


async def test_a_key_reused_for_another_charge_is_rejected(world: World) -> None:
    await world.payments.charge(SERVICE, charge(amount=5_000))
    with pytest.raises(FailedPreconditionError) as error:
        await world.payments.charge(SERVICE, charge(amount=6_000))
    assert error.value.reason == "IDEMPOTENCY_KEY_REUSED"


@pytest.mark.parametrize(
    "token", ["tok_4242424242424242", "tok_4242_4242_4242_4242", "4111 1111 1111 1111"]
)
async def test_card_numbers_are_refused_without_echoing_them(world: World, token: str) -> None:
    with pytest.raises(InvalidArgumentError) as error:
        await world.payments.charge(SERVICE, charge(token=token))
    assert error.value.violations[0].field == "payment_token"
    assert "4242" not in str(error.value.details()) and "4111" not in str(error.value.details())
    assert world.provider.charges == []


def test_short_digit_runs_are_not_card_numbers() -> None:
    assert not looks_like_card_number("tok_visa")
    assert not looks_like_card_number("tok_order_12345")
    assert looks_like_card_number("tok_378282246310005")


async def test_only_services_charge_and_refund(world: World) -> None:
    staff = Identity.from_claims("a1", frozenset({rbac.ADMIN}), "t")
    for caller in (ANN, BOB, staff):
        with pytest.raises(PermissionDeniedError) as refused:
            await world.payments.charge(caller, charge(key=f"order-{caller.subject}"))
        assert refused.value.reason == "INTERNAL_METHOD"
    payment = await world.payments.charge(SERVICE, charge())
    assert payment.user_id == "ann"
    for caller in (ANN, staff):
        with pytest.raises(PermissionDeniedError):
            await world.payments.refund(caller, payment.id, "r1", None, None, "")
    assert world.provider.refunds == [] and len(world.provider.charges) == 1
    assert (await world.payments.get(ANN, payment.id)).refunded_amount == 0


async def test_refunds_are_partial_or_full_and_never_exceed_the_capture(world: World) -> None:
    payment = await world.payments.charge(SERVICE, charge(amount=5_000))
    partial = await world.payments.refund(SERVICE, payment.id, "r1", 2_000, "USD", "damaged")
    assert partial.status is PaymentStatus.PARTIALLY_REFUNDED
    assert partial.refunded_amount == 2_000
    with pytest.raises(FailedPreconditionError) as error:
        await world.payments.refund(SERVICE, payment.id, "r2", 3_001, "USD", "")
    assert error.value.reason == "REFUND_EXCEEDS_CAPTURED"
    rest = await world.payments.refund(SERVICE, payment.id, "r3", None, None, "cancelled")
    assert rest.status is PaymentStatus.REFUNDED
    assert rest.refunded_amount == 5_000
    assert [r.amount for r in rest.refunds] == [2_000, 3_000]
    with pytest.raises(FailedPreconditionError) as done:
        await world.payments.refund(SERVICE, payment.id, "r4", None, None, "")
    assert done.value.reason == "NOTHING_TO_REFUND"
    assert isinstance(world.store.events[-1], PaymentRefunded)


async def test_a_refund_key_replays_its_result(world: World) -> None:
    payment = await world.payments.charge(SERVICE, charge(amount=5_000))
    first = await world.payments.refund(SERVICE, payment.id, "r1", 1_000, "USD", "")
    again = await world.payments.refund(SERVICE, payment.id, "r1", 1_000, "USD", "")
    assert again.refunded_amount == first.refunded_amount == 1_000
    assert len(world.provider.refunds) == 1
    with pytest.raises(FailedPreconditionError):
        await world.payments.refund(SERVICE, payment.id, "r1", 2_000, "USD", "")


async def test_a_failed_payment_cannot_be_refunded(world: World) -> None:
    payment = await world.payments.charge(SERVICE, charge(token="tok_chargeDeclined"))
    with pytest.raises(FailedPreconditionError) as error:
        await world.payments.refund(SERVICE, payment.id, "r1", None, None, "")
    assert error.value.reason == "PAYMENT_NOT_CAPTURED"


async def test_payments_are_visible_to_their_owner_and_staff_only(world: World) -> None:
    payment = await world.payments.charge(SERVICE, charge())
    assert (await world.payments.get(ANN, payment.id)) == payment
    staff = Identity.from_claims("cs", frozenset({rbac.CUSTOMER_SERVICE}), "t")
    assert (await world.payments.get(staff, payment.id)) == payment
    with pytest.raises(NotFoundError):
        await world.payments.get(BOB, payment.id)
    with pytest.raises(PermissionDeniedError):
        await world.payments.refund(BOB, payment.id, "r1", None, None, "")
    with pytest.raises(NotFoundError):
        await world.payments.refund(SERVICE, "no-such-payment", "r1", None, None, "")


async def test_a_charge_in_progress_is_recorded_even_when_the_caller_gives_up() -> None:
    world = World(delay_seconds=0.2)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(world.payments.charge(SERVICE, charge()), 0.05)
    retried = await world.payments.charge(SERVICE, charge())
    assert retried.status is PaymentStatus.SUCCEEDED
    assert len(world.provider.charges) == 1
    await world.payments.close()


async def test_the_sandbox_behaves_like_a_test_mode_processor() -> None:
    sandbox = SandboxProvider(SandboxLatency(0.0, 0.0, slow_seconds=0.1))

    def request(token: str, key: str) -> ProviderCharge:
        return ProviderCharge(key, 100, "USD", token)

    assert isinstance(await sandbox.charge(request("tok_visa", "a")), Approved)
    declined = await sandbox.charge(request("tok_insufficientFunds", "b"))
    assert isinstance(declined, Declined) and declined.code == "insufficient_funds"
    with pytest.raises(ProviderError):
        await sandbox.charge(request("tok_processingError", "c"))
    assert isinstance(await sandbox.charge(request("tok_processingError", "c")), Approved)
    slow = asyncio.create_task(sandbox.charge(request("tok_slow", "d")))
    await asyncio.sleep(0.05)
    assert not slow.done()
    first = await slow
    assert (await sandbox.charge(request("tok_slow", "d"))) == first
    unknown = await sandbox.charge(request("tok_nope", "e"))
    assert isinstance(unknown, Declined) and unknown.code == "invalid_token"
