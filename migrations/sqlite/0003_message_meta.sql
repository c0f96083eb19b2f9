-- The adapter contract: buttons, replies, privacy, answers in place, edits and deletes, as
-- JSON (NULL for a plain message). message_ref now holds a typed reference as JSON.
ALTER TABLE outbox ADD COLUMN meta TEXT;
