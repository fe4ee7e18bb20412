"""The order service's business metrics, served on the runtime's /metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from ..domain.model import Order, OrderStatus, SagaStep
from ..service_layer.recovery import RecoveryObserver
from ..service_layer.saga import SagaObserver

# The step a checkout's outcome is decided at, and how the outcome is called.
_OUTCOMES = {
    (SagaStep.PAID, OrderStatus.PAID): "paid",
    (SagaStep.COMPENSATING, OrderStatus.PAYMENT_FAILED): "payment_failed",
    (SagaStep.COMPENSATING, OrderStatus.CANCELLED): "stock_rejected",
    (SagaStep.CANCELLED, OrderStatus.CANCELLED): "cancelled",
}


class SagaMetrics(SagaObserver, RecoveryObserver):
    def __init__(self, registry: CollectorRegistry) -> None:
        self._outcomes = Counter(
            "order_outcomes",
            "Orders reaching an outcome: paid, payment_failed, stock_rejected, cancelled.",
            ("outcome",),
            registry=registry,
        )
        self._steps = Counter(
            "order_saga_steps",
            "Saga steps persisted, by the step reached.",
            ("step",),
            registry=registry,
        )
        self._unknown = Counter(
            "order_charge_unknown",
            "Charges without a final answer after every try (asked again later, same key).",
            registry=registry,
        )
        self._waiting = Gauge(
            "order_sagas_awaiting_recovery",
            "Unfinished sagas past the grace period at the last recovery pass.",
            registry=registry,
        )
        self._recovered = Counter(
            "order_saga_recoveries", "Sagas taken up by the recovery loop.", registry=registry
        )

    def step_taken(self, order: Order) -> None:
        self._steps.labels(order.saga_step.value).inc()
        outcome = _OUTCOMES.get((order.saga_step, order.status))
        if outcome is not None:
            self._outcomes.labels(outcome).inc()

    def charge_unknown(self, order: Order) -> None:
        self._unknown.inc()

    def pass_done(self, waiting: int, resumed: int) -> None:
        self._waiting.set(waiting)
        self._recovered.inc(resumed)
