-- Support responsiveness per company, kept incrementally (see src/core/stats.rs): each case's
-- facts as last counted, and the counters they sum into, per company, all time (scope -1) and
-- per day of report. A save adds the difference its case's facts make, in its transaction.
CREATE TABLE case_stats (
    case_id TEXT PRIMARY KEY NOT NULL REFERENCES cases (id),
    facts   TEXT NOT NULL
);
CREATE TABLE stat_counters (
    scope   BIGINT NOT NULL,
    company TEXT NOT NULL,
    metric  TEXT NOT NULL,
    bucket  BIGINT NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (scope, company, metric, bucket)
);
-- How each company is shown (its key is the folded name).
CREATE TABLE stat_companies (
    company TEXT PRIMARY KEY NOT NULL,
    name    TEXT NOT NULL
);
