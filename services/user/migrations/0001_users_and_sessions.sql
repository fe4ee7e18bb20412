-- Users, refresh-token families and failed-login counters.

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text        NOT NULL,
    display_name  text        NOT NULL,
    roles         text[]      NOT NULL,
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    version       bigint      NOT NULL
);

-- E-mail addresses are unique regardless of case; lookups use the same expression.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
-- ListUsers pages newest first by (created_at, id).
CREATE INDEX users_created_at_id_idx ON users (created_at, id);

CREATE TABLE refresh_tokens (
    token_hash text        PRIMARY KEY,
    family_id  uuid        NOT NULL,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issued_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz
);

CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);

CREATE TABLE login_attempts (
    throttle_key      text        PRIMARY KEY,
    failures          integer     NOT NULL,
    window_started_at timestamptz NOT NULL,
    last_failure_at   timestamptz NOT NULL,
    locked_until      timestamptz
);
