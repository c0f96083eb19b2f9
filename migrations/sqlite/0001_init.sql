-- Cases: the folded state as JSON, plus the columns the queue and the scheduler search on.
-- Timestamps are milliseconds since the Unix epoch (UTC) in both backends.
CREATE TABLE cases (
    id                TEXT PRIMARY KEY NOT NULL,
    reporter_platform TEXT NOT NULL,
    reporter_id       TEXT NOT NULL,
    status            TEXT NOT NULL,
    needs_decision    BOOLEAN NOT NULL DEFAULT FALSE,
    silence_since     BIGINT,
    next_due_at       BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    version           BIGINT NOT NULL,
    state             TEXT NOT NULL
);
CREATE INDEX cases_reporter ON cases (reporter_platform, reporter_id, created_at);
CREATE INDEX cases_next_due ON cases (next_due_at) WHERE status = 'open' AND next_due_at IS NOT NULL;
CREATE INDEX cases_queue ON cases (status, needs_decision, silence_since);

-- The append-only timeline.
CREATE TABLE events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT NOT NULL REFERENCES cases (id),
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    kind    TEXT NOT NULL,
    data    TEXT NOT NULL
);
CREATE INDEX events_case ON events (case_id, id);

-- One row per (case, step#occurrence): a step can never be taken twice.
CREATE TABLE escalations (
    case_id  TEXT NOT NULL REFERENCES cases (id),
    step     TEXT NOT NULL,
    taken_at BIGINT NOT NULL,
    PRIMARY KEY (case_id, step)
);

-- Every outgoing message, recorded before it is sent and marked after.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key      TEXT NOT NULL UNIQUE,
    case_id         TEXT,
    recipient       TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    attempts        BIGINT NOT NULL DEFAULT 0,
    sent_at         BIGINT,
    failed_at       BIGINT,
    last_error      TEXT,
    message_ref     TEXT
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;

-- Dialogue state (the /report intake), per person and conversation.
CREATE TABLE dialogues (
    user_key   TEXT NOT NULL,
    chat_key   TEXT NOT NULL,
    state      TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_key, chat_key)
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
