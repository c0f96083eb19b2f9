-- The adapter contract: buttons, replies, privacy, answers in place, edits and deletes, as
-- JSON (NULL for a plain message). message_ref now holds a typed reference as JSON.
ALTER TABLE outbox ADD COLUMN meta TEXT;

-- Inputs already handled, by the platform's ID (a Telegram update, a Discord interaction): a
-- redelivered one is written once. Pruned after a week.
CREATE TABLE inbox (
    key        TEXT PRIMARY KEY NOT NULL,
    handled_at BIGINT NOT NULL
);
CREATE INDEX inbox_handled ON inbox (handled_at);
