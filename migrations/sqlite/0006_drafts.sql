-- Drafts that are no one case's: a joint complaint for a cluster's consenting cases, the
-- monthly support-responsiveness post. Each waits for a moderator's approval like a case's
-- public post; `status` moves from 'pending' to 'approved' or 'rejected' once (the update is
-- conditional, so two moderators pressing at once decide it once). The ID is the key that
-- makes a draft happen once (the monthly post's is its month).
CREATE TABLE drafts (
    id         TEXT PRIMARY KEY NOT NULL,
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    status     TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    decided_at BIGINT,
    decided_by TEXT,
    reason     TEXT
);
CREATE INDEX drafts_subject ON drafts (subject, created_at);
