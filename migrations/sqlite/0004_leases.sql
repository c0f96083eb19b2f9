-- Named leases between instances sharing one database: the one Telegram poller (and, later,
-- the one Discord gateway connection). A holder renews its lease well before `until_ms`; when
-- it dies the lease runs out and another instance takes it.
CREATE TABLE leases (
    name     TEXT PRIMARY KEY NOT NULL,
    holder   TEXT NOT NULL,
    until_ms BIGINT NOT NULL
);
