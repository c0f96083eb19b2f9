-- /stats at a million cases (see src/core/stats.rs): the reply times and the silences of one
-- company and scope are kept in one row (a stats::Dist: `r<bucket>:<cases>` and
-- `s<day>:<cases>` separated by spaces), so /stats reads a few rows per company instead of
-- one per bucket and day. The blocks of days of first contact (0008) are no longer needed:
-- every silence is read day by day, exactly.
CREATE TABLE stat_dists (
    scope   BIGINT NOT NULL,
    company TEXT NOT NULL,
    data    TEXT NOT NULL,
    PRIMARY KEY (scope, company)
);
INSERT INTO stat_dists (scope, company, data)
    SELECT scope, company,
           string_agg(CASE metric WHEN 'reply' THEN 'r' ELSE 's' END || bucket || ':' || n, ' ')
    FROM stat_counters
    WHERE metric IN ('reply', 'silent') AND n <> 0
    GROUP BY scope, company;
DELETE FROM stat_counters WHERE metric IN ('reply', 'silent', 'silent4', 'silent16', 'silent64');
