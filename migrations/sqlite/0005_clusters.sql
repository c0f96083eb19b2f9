-- Clusters: which cases name each linking address (an attacker's, a later movement's, an
-- exchange deposit's), by its normalised key (`evm:0x…` lowercased, else `<chain>:<address>`).
-- Rewritten with every change to a case's evidence, in the same transaction.
CREATE TABLE case_links (
    link      TEXT NOT NULL,
    case_id   TEXT NOT NULL REFERENCES cases (id),
    address   TEXT NOT NULL,
    linked_at BIGINT NOT NULL,
    PRIMARY KEY (link, case_id)
);
CREATE INDEX case_links_case ON case_links (case_id);

-- Addresses a moderator took out (an exchange hot wallet, a popular contract): they no longer
-- link cases in this community.
CREATE TABLE unlinked (
    link    TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL,
    reason  TEXT,
    by_name TEXT NOT NULL,
    at      BIGINT NOT NULL
);
