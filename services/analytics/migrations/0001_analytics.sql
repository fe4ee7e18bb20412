-- Orders as the order events describe them; the day of an order is the UTC day it was paid.
CREATE TABLE orders (
    order_id          text        PRIMARY KEY,
    user_id           text        NOT NULL,
    currency          text        NOT NULL,
    total_minor       bigint      NOT NULL,
    placed_at         timestamptz,
    paid_at           timestamptz,
    payment_failed_at timestamptz,
    cancelled_at      timestamptz
);

CREATE INDEX orders_paid ON orders (currency, paid_at) WHERE paid_at IS NOT NULL;

CREATE TABLE order_lines (
    order_id         text    NOT NULL REFERENCES orders (order_id),
    product_id       text    NOT NULL,
    name             text    NOT NULL,
    quantity         integer NOT NULL,
    line_total_minor bigint  NOT NULL,
    PRIMARY KEY (order_id, product_id)
);

-- Refunded so far per order (payment events may arrive before the order's own events).
CREATE TABLE order_refunds (
    order_id       text   PRIMARY KEY,
    currency       text   NOT NULL,
    refunded_minor bigint NOT NULL
);

CREATE TABLE payments (
    payment_id   text        PRIMARY KEY,
    order_id     text        NOT NULL,
    outcome      text        NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
    currency     text        NOT NULL,
    amount_minor bigint      NOT NULL,
    settled_at   timestamptz NOT NULL
);

-- One row per counted funnel event: cart adds, checkouts started, orders paid.
CREATE TABLE funnel_events (
    event_id    text        PRIMARY KEY,
    step        text        NOT NULL CHECK (step IN ('cart_add', 'checkout', 'paid')),
    occurred_at timestamptz NOT NULL
);

CREATE INDEX funnel_events_by_step ON funnel_events (step, occurred_at);

CREATE TABLE products (
    product_id text    PRIMARY KEY,
    name       text    NOT NULL,
    category   text    NOT NULL,
    version    bigint  NOT NULL,
    deleted    boolean NOT NULL DEFAULT false
);
