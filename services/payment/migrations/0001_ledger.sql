-- The payment ledger: one row per charge idempotency key, refunds taken from it.

CREATE TABLE payments (
    id                  uuid        PRIMARY KEY,
    idempotency_key     text        NOT NULL UNIQUE,
    request_fingerprint text        NOT NULL,
    order_id            text        NOT NULL,
    user_id             text        NOT NULL,
    amount              bigint      NOT NULL CHECK (amount > 0),
    currency            char(3)     NOT NULL,
    status              text        NOT NULL
        CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED', 'PARTIALLY_REFUNDED', 'REFUNDED')),
    refunded_amount     bigint      NOT NULL DEFAULT 0,
    failure_code        text        NOT NULL DEFAULT '',
    failure_message     text        NOT NULL DEFAULT '',
    provider_reference  text        NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    version             bigint      NOT NULL,
    -- The ledger itself refuses to refund more than was captured.
    CHECK (refunded_amount >= 0 AND refunded_amount <= amount)
);

CREATE INDEX payments_order_id_idx ON payments (order_id);

CREATE TABLE refunds (
    id                 uuid        PRIMARY KEY,
    payment_id         uuid        NOT NULL REFERENCES payments (id),
    idempotency_key    text        NOT NULL UNIQUE,
    amount             bigint      NOT NULL CHECK (amount > 0),
    reason             text        NOT NULL DEFAULT '',
    provider_reference text        NOT NULL,
    created_at         timestamptz NOT NULL
);

CREATE INDEX refunds_payment_id_idx ON refunds (payment_id);
