-- /stats at a million cases (see src/core/stats.rs): the counters' key in the order /stats
-- reads them (scope, metric, bucket, company), with the count in the index (an index-only
-- range scan), and the all-time unanswered cases counted again in blocks of 4, 16 and 64
-- days of first contact, so an old silence is read from a few block rows instead of one
-- row per day.
ALTER TABLE stat_counters DROP CONSTRAINT stat_counters_pkey;
ALTER TABLE stat_counters ADD CONSTRAINT stat_counters_pkey
    PRIMARY KEY (scope, metric, bucket, company) INCLUDE (n);
-- Block k of L days holds the first contacts on days k*L .. k*L + L - 1 (floor division).
INSERT INTO stat_counters (scope, metric, bucket, company, n)
    SELECT -1, 'silent' || l.size, floor(bucket::numeric / l.size)::bigint, company, SUM(n)
    FROM stat_counters, (VALUES (4), (16), (64)) AS l (size)
    WHERE scope = -1 AND metric = 'silent'
    GROUP BY l.size, floor(bucket::numeric / l.size)::bigint, company;
-- The per-day counters again per block of 4 and of 16 days of report, so that the last 30
-- days are read from a few blocks (scope -(size * 1000000000) - k for block k, see
-- stats::block_scope); days of report are never before 1970, so plain division is floor.
INSERT INTO stat_counters (scope, metric, bucket, company, n)
    SELECT -(l.size * 1000000000) - scope / l.size, metric, bucket, company, SUM(n)
    FROM stat_counters, (VALUES (4::bigint), (16::bigint)) AS l (size)
    WHERE scope >= 0
    GROUP BY l.size, scope / l.size, metric, bucket, company;
