-- Orders, their lines, the checkout saga's state and the PlaceOrder idempotency keys.
-- Money columns are integer minor units of `currency`.

CREATE TABLE orders (
    id               text PRIMARY KEY,
    user_id          text        NOT NULL,
    status           text        NOT NULL
        CHECK (status IN ('PENDING', 'PAID', 'PAYMENT_FAILED', 'CANCELLED')),
    saga_step        text        NOT NULL,
    currency         char(3)     NOT NULL,
    subtotal_minor   bigint      NOT NULL CHECK (subtotal_minor >= 0),
    tax_minor        bigint      NOT NULL CHECK (tax_minor >= 0),
    shipping_minor   bigint      NOT NULL CHECK (shipping_minor >= 0),
    total_minor      bigint      NOT NULL,
    shipping_address jsonb       NOT NULL,
    -- A provider token (never a card number), cleared once the saga is finished.
    payment_token    text        NOT NULL DEFAULT '',
    payment_id       text        NOT NULL DEFAULT '',
    status_reason    text        NOT NULL DEFAULT '',
    version          integer     NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    CHECK (total_minor = subtotal_minor + tax_minor + shipping_minor)
);

CREATE INDEX orders_by_user ON orders (user_id, created_at DESC, id DESC);
CREATE INDEX orders_by_time ON orders (created_at DESC, id DESC);
-- The recovery loop scans only sagas that are not finished.
CREATE INDEX orders_unfinished ON orders (updated_at)
    WHERE saga_step NOT IN ('COMPLETED', 'FAILED', 'CANCELLED');

CREATE TABLE order_lines (
    order_id         text    NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_no          integer NOT NULL,
    product_id       text    NOT NULL,
    name             text    NOT NULL,
    quantity         integer NOT NULL CHECK (quantity > 0),
    unit_price_minor bigint  NOT NULL CHECK (unit_price_minor >= 0),
    PRIMARY KEY (order_id, line_no)
);

CREATE INDEX order_lines_by_product ON order_lines (product_id);

-- Every saga step taken, for audits and post-mortems.
CREATE TABLE order_saga_log (
    id         bigserial PRIMARY KEY,
    order_id   text        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    from_step  text,
    to_step    text        NOT NULL,
    status     text        NOT NULL,
    at         timestamptz NOT NULL
);

CREATE INDEX order_saga_log_by_order ON order_saga_log (order_id, id);

-- Only a hash of the request is kept, enough to tell a retry from a different request.
CREATE TABLE order_idempotency_keys (
    user_id      text        NOT NULL,
    key          text        NOT NULL,
    request_hash text        NOT NULL,
    order_id     text        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (user_id, key)
);
