-- /stats at a million cases (see src/core/stats.rs): the counters are stored in the order
-- /stats reads them (scope, metric, bucket, company), clustered (WITHOUT ROWID, so a range
-- scan reads the counts with the keys), and the all-time unanswered cases are counted
-- again in blocks of 4, 16 and 64 days of first contact, so an old silence is read from a
-- few block rows instead of one row per day.
CREATE TABLE stat_counters_new (
    scope   BIGINT NOT NULL,
    metric  TEXT NOT NULL,
    bucket  BIGINT NOT NULL,
    company TEXT NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (scope, metric, bucket, company)
) WITHOUT ROWID;
INSERT INTO stat_counters_new (scope, metric, bucket, company, n)
    SELECT scope, metric, bucket, company, n FROM stat_counters;
DROP TABLE stat_counters;
ALTER TABLE stat_counters_new RENAME TO stat_counters;
-- Block k of L days holds the first contacts on days k*L .. k*L + L - 1 (floor division).
INSERT INTO stat_counters (scope, metric, bucket, company, n)
    SELECT -1, 'silent' || l.size, (bucket - ((bucket % l.size) + l.size) % l.size) / l.size,
           company, SUM(n)
    FROM stat_counters, (SELECT 4 AS size UNION ALL SELECT 16 UNION ALL SELECT 64) AS l
    WHERE scope = -1 AND metric = 'silent'
    GROUP BY l.size, (bucket - ((bucket % l.size) + l.size) % l.size) / l.size, company;
-- The per-day counters again per block of 4 and of 16 days of report, so that the last 30
-- days are read from a few blocks (scope -(size * 1000000000) - k for block k, see
-- stats::block_scope); days of report are never before 1970, so plain division is floor.
INSERT INTO stat_counters (scope, metric, bucket, company, n)
    SELECT -(l.size * 1000000000) - scope / l.size, metric, bucket, company, SUM(n)
    FROM stat_counters, (SELECT 4 AS size UNION ALL SELECT 16) AS l
    WHERE scope >= 0
    GROUP BY l.size, scope / l.size, metric, bucket, company;
