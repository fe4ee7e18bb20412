"""The gRPC adapters without sockets: proto mapping, retry and outcome rules, settings."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from shop.cart.v1 import cart_pb2
from shop.catalog.v1 import catalog_pb2
from shop.order.v1 import order_pb2
from shop.payment.v1 import payment_pb2

from mesh.errors import InvalidArgumentError
from mesh.settings import SettingsError
from services.order.adapters.downstream import CallPolicy, GrpcCart, GrpcCatalog, GrpcPayment
from services.order.adapters.protos import event_payload, order_to_proto
from services.order.domain.model import (
    Address,
    Order,
    OrderEvent,
    OrderEventType,
    OrderLine,
    OrderStatus,
)
from services.order.domain.pricing import PricingPolicy
from services.order.service_layer.orders import decode_page_token, encode_page_token
from services.order.service_layer.ports import (
    ChargeStatus,
    DownstreamUnavailable,
    ReservationRejected,
)
from services.order.service_layer.store import OrderQuery, PageCursor
from services.order.settings import Settings

NOW = datetime(2026, 1, 1, 12, 30, tzinfo=UTC)
POLICY = CallPolicy(try_timeout_seconds=0.5, attempts=3, backoff_seconds=0.0)


def order(token: str = "tok_visa") -> Order:
    return Order.start(
        order_id="o1",
        user_id="ada",
        lines=[OrderLine("mug", "Mug", 3, 1299)],
        currency="USD",
        shipping_address=Address("Ada", "1 Main St", "", "Springfield", "", "12345", "US"),
        payment_token=token,
        policy=PricingPolicy(825, 499, 5000),
        now=NOW,
    )


def rpc_error(code: grpc.StatusCode, details: str = "") -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details)


class ScriptedStub:
    """Answers each call with the next scripted outcome (a reply, or an exception to raise)."""

    def __init__(self, *outcomes: Any) -> None:
        self.outcomes = list(outcomes)
        self.requests: list[Any] = []
        self.timeouts: list[float | None] = []

    def _answer(self, request: Any, timeout: float | None = None, **_: Any) -> Any:
        self.requests.append(request)
        self.timeouts.append(timeout)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def __getattr__(self, name: str) -> Callable[..., Any]:
        async def call(request: Any, **kwargs: Any) -> Any:
            return self._answer(request, **kwargs)

        return call


def test_an_order_maps_to_its_proto_with_exact_money() -> None:
    message = order_to_proto(order())
    assert message.status == order_pb2.ORDER_STATUS_PENDING
    assert (message.items[0].unit_price.units, message.items[0].unit_price.nanos) == (
        12,
        990_000_000,
    )
    assert (message.subtotal.units, message.subtotal.nanos) == (38, 970_000_000)
    assert (message.tax.units, message.tax.nanos) == (3, 220_000_000)  # 321.5025 rounds to 322
    assert message.total.currency_code == "USD"
    assert message.create_time.ToDatetime(tzinfo=UTC) == NOW


def test_a_cancellation_event_says_whether_money_went_back() -> None:
    paid = order().stock_reserved(NOW).order.charging(NOW).order.paid("pay1", NOW).order
    cancelled = paid.request_cancel("changed my mind", NOW).order.cancelled(NOW).order
    payload = event_payload(OrderEvent(OrderEventType.CANCELLED, cancelled, "changed my mind"))
    assert payload.DESCRIPTOR.name == "OrderCancelled"
    assert (payload.reason, payload.refunded) == ("changed my mind", True)  # type: ignore[attr-defined]
    assert payload.order.status == order_pb2.ORDER_STATUS_CANCELLED  # type: ignore[attr-defined]


async def test_a_timed_out_charge_is_retried_with_the_same_key() -> None:
    succeeded = payment_pb2.Payment(id="pay1", status=payment_pb2.PAYMENT_STATUS_SUCCEEDED)
    stub = ScriptedStub(
        rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED),
        rpc_error(grpc.StatusCode.UNAVAILABLE),
        succeeded,
    )
    result = await GrpcPayment(stub, POLICY).charge(order())  # type: ignore[arg-type]
    assert (result.status, result.payment_id) == (ChargeStatus.SUCCEEDED, "pay1")
    assert {request.idempotency_key for request in stub.requests} == {"o1"}
    assert (stub.requests[0].amount.units, stub.requests[0].amount.nanos) == (47, 180_000_000)
    assert stub.timeouts == [0.5, 0.5, 0.5]


async def test_a_charge_that_never_answers_is_unknown_not_failed() -> None:
    stub = ScriptedStub(*[rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED)] * 3)
    result = await GrpcPayment(stub, POLICY).charge(order("tok_slow"))  # type: ignore[arg-type]
    assert result.status is ChargeStatus.UNKNOWN
    assert len(stub.requests) == 3


@pytest.mark.parametrize(
    ("reply", "status", "reason"),
    [
        (
            payment_pb2.Payment(
                id="pay1",
                status=payment_pb2.PAYMENT_STATUS_FAILED,
                failure_code=payment_pb2.FAILURE_CODE_INSUFFICIENT_FUNDS,
                failure_message="Insufficient funds.",
            ),
            ChargeStatus.DECLINED,
            "insufficient_funds: Insufficient funds.",
        ),
        (payment_pb2.Payment(status=payment_pb2.PAYMENT_STATUS_PENDING), ChargeStatus.UNKNOWN, ""),
        (
            rpc_error(grpc.StatusCode.INVALID_ARGUMENT, "payment_token: not a token"),
            ChargeStatus.DECLINED,
            "payment_token: not a token",
        ),
        (rpc_error(grpc.StatusCode.INTERNAL), ChargeStatus.UNKNOWN, ""),
    ],
)
async def test_charge_outcomes(reply: Any, status: ChargeStatus, reason: str) -> None:
    result = await GrpcPayment(ScriptedStub(reply), POLICY).charge(order())  # type: ignore[arg-type]
    assert (result.status, result.reason) == (status, reason)


async def test_a_refused_reservation_is_final_and_an_outage_is_not() -> None:
    refused = ScriptedStub(rpc_error(grpc.StatusCode.FAILED_PRECONDITION, "only 1 mug left"))
    catalog = GrpcCatalog(refused, refused, POLICY)  # type: ignore[arg-type]
    with pytest.raises(ReservationRejected, match="only 1 mug left"):
        await catalog.reserve("o1", order().lines)

    down = ScriptedStub(*[rpc_error(grpc.StatusCode.UNAVAILABLE)] * 3)
    with pytest.raises(DownstreamUnavailable):
        await GrpcCatalog(down, down, POLICY).reserve("o1", order().lines)  # type: ignore[arg-type]
    assert [r.order_id for r in down.requests] == ["o1"] * 3


async def test_catalog_prices_become_minor_units() -> None:
    product = catalog_pb2.Product(id="mug", name="Mug", inventory=4)
    product.price.currency_code, product.price.units, product.price.nanos = "USD", 12, 990_000_000
    stub = ScriptedStub(catalog_pb2.BatchGetProductsResponse(products=[product]))
    offers = await GrpcCatalog(stub, stub, POLICY).offers({"mug"}, "tok")  # type: ignore[arg-type]
    assert offers["mug"].unit_price == 1299 and offers["mug"].inventory == 4


async def test_the_carts_prices_become_offers_and_a_gone_product_is_none() -> None:
    cart = cart_pb2.Cart(
        items=[
            cart_pb2.CartItem(
                product_id="mug",
                name="Mug",
                quantity=2,
                availability=cart_pb2.ITEM_AVAILABILITY_INSUFFICIENT_STOCK,
                available_quantity=1,
            ),
            cart_pb2.CartItem(
                product_id="old",
                name="Old",
                quantity=1,
                availability=cart_pb2.ITEM_AVAILABILITY_PRODUCT_GONE,
            ),
        ]
    )
    mug = cart.items[0].unit_price
    mug.currency_code, mug.units, mug.nanos = "USD", 12, 990_000_000
    stub = ScriptedStub(cart)
    contents = await GrpcCart(stub, stub, POLICY).contents("ada", "tok")  # type: ignore[arg-type]

    assert [(item.product_id, item.quantity) for item in contents.items] == [("mug", 2), ("old", 1)]
    assert contents.offers is not None and set(contents.offers) == {"mug"}
    offer = contents.offers["mug"]
    assert (offer.name, offer.unit_price, offer.currency, offer.inventory) == (
        "Mug",
        1299,
        "USD",
        1,
    )


async def test_a_cart_with_unpriced_items_gives_no_offers() -> None:
    stub = ScriptedStub(cart_pb2.Cart(items=[cart_pb2.CartItem(product_id="mug", quantity=1)]))
    contents = await GrpcCart(stub, stub, POLICY).contents("ada", "tok")  # type: ignore[arg-type]
    assert contents.offers is None


def test_page_tokens_round_trip_and_garbage_is_a_field_violation() -> None:
    cursor = PageCursor(NOW + timedelta(microseconds=7), "o1")
    adas = OrderQuery(user_id="ada")
    assert decode_page_token(encode_page_token(cursor, adas), adas) == cursor
    assert encode_page_token(None, adas) == ""
    assert decode_page_token("", adas) is None
    for garbage in ("%%%", "bm90IGEgY3Vyc29y"):
        with pytest.raises(InvalidArgumentError) as raised:
            decode_page_token(garbage, adas)
        assert [v.field for v in raised.value.violations] == ["page_token"]


def test_a_page_token_continues_only_the_listing_it_was_issued_for() -> None:
    cursor = PageCursor(NOW, "o1")
    token = encode_page_token(cursor, OrderQuery(user_id="ada"))
    for other in (
        OrderQuery(user_id="bob"),
        OrderQuery(),
        OrderQuery(user_id="ada", status=OrderStatus.PAID),
    ):
        with pytest.raises(InvalidArgumentError) as raised:
            decode_page_token(token, other)
        assert raised.value.reason == "INVALID_PAGE_TOKEN"
        assert [v.field for v in raised.value.violations] == ["page_token"]


def test_settings_defaults_and_errors_name_the_variable() -> None:
    settings = Settings.from_env({})
    assert settings.currency == "USD" and settings.pricing.tax_rate_bps == 0
    assert settings.payment.try_timeout_seconds == 2.0
    for name, value in (
        ("ORDER_CURRENCY", "usd"),
        ("TAX_RATE_BPS", "10001"),
        ("PAYMENT_ATTEMPTS", "0"),
    ):
        with pytest.raises(SettingsError) as raised:
            Settings.from_env({name: value})
        assert raised.value.name == name


@pytest.mark.parametrize("status", list(OrderStatus))
def test_every_status_has_its_proto_name(status: OrderStatus) -> None:
    message = order_to_proto(dataclasses.replace(order(), status=status))
    assert order_pb2.OrderStatus.Name(message.status) == f"ORDER_STATUS_{status.value}"
