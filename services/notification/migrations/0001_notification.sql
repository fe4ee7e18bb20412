-- Contact data from user events (consumers have no user token to ask with).
CREATE TABLE contacts (
    user_id      text        PRIMARY KEY,
    email        text        NOT NULL,
    display_name text        NOT NULL DEFAULT '',
    version      bigint      NOT NULL,
    update_time  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE preferences (
    user_id       text        PRIMARY KEY,
    email_enabled boolean     NOT NULL DEFAULT true,
    sms_enabled   boolean     NOT NULL DEFAULT false,
    phone_number  text        NOT NULL DEFAULT '',
    update_time   timestamptz NOT NULL DEFAULT now(),
    CHECK (NOT sms_enabled OR phone_number <> '')
);

-- The delivery log. One row per message that must exist once: dedupe_key is
-- "<event id>:<channel>" for events and "request:<idempotency key>:<channel>" for direct sends.
CREATE TABLE notifications (
    id                 uuid        PRIMARY KEY,
    dedupe_key         text        NOT NULL UNIQUE,
    user_id            text        NOT NULL,
    channel            text        NOT NULL CHECK (channel IN ('email', 'sms')),
    template           text        NOT NULL,
    recipient          text        NOT NULL,
    subject            text        NOT NULL DEFAULT '',
    status             text        NOT NULL
        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
    attempts           integer     NOT NULL DEFAULT 0,
    error              text        NOT NULL DEFAULT '',
    event_id           text        NOT NULL DEFAULT '',
    message_id         text        NOT NULL,
    create_time        timestamptz NOT NULL DEFAULT now(),
    attempt_started_at timestamptz,
    send_time          timestamptz
);

CREATE INDEX notifications_by_user ON notifications (user_id, create_time DESC, id DESC);
