//! Support responsiveness per company end to end, on SQLite and PostgreSQL: aliases fold into
//! one company, unanswered cases count as still silent, the threshold hides small companies
//! from everyone but moderators, the export, the incrementally kept counters equal a fold of
//! every case (also when two instances save at once), the migrations of kept counters, the
//! backfill of earlier cases, and the monthly post through moderator approval.

mod common;

use std::collections::BTreeMap;

use chrono::{Duration, TimeZone, Utc};
use common::*;
use recourse::core::identity::{Actor, ChatRef};
use recourse::core::message::{Does, Incoming, Input, Place};
use recourse::core::ports::{OutboxItem, Store};
use recourse::core::stats;

const SPELLINGS: [&str; 5] = [
    "TokenPocket",
    "TP Wallet",
    "tp钱包",
    "ＴｏｋｅｎＰｏｃｋｅｔ",
    "token-pocket",
];

/// Files five TokenPocket cases (five spellings) and two imToken ones, all contacted on the
/// day; two TokenPocket victims hear back after two days; ten days pass.
async fn file_cases(app: &App) -> Vec<String> {
    let mut ids = Vec::new();
    for (i, s) in SPELLINGS.iter().enumerate() {
        let who = person(&format!("tp{i}"));
        ids.push(
            app.report(
                &who,
                &format!(r#"wallet="{s}" chain=eth amount="1 ETH" contacted="2026-11-20 email""#),
            )
            .await,
        );
    }
    for (i, s) in ["imToken", "im钱包"].iter().enumerate() {
        let who = person(&format!("im{i}"));
        ids.push(
            app.report(
                &who,
                &format!(r#"wallet="{s}" chain=eth amount="2 ETH" contacted="2026-11-20 email""#),
            )
            .await,
        );
    }
    app.wait(Duration::hours(48)).await;
    for (i, id) in ids.iter().take(2).enumerate() {
        let r = app
            .say(
                &person(&format!("tp{i}")),
                &format!("/replied {id} they looked at it"),
            )
            .await;
        assert!(!r.is_empty());
    }
    app.wait(Duration::days(8)).await;
    app.deliver().await;
    ids
}

/// The counters as kept, and as a fold of every case's facts: they must be equal.
async fn assert_counters_match_cases(app: &App, ids: &[String]) {
    let mut expected: BTreeMap<(i64, String, String, i64), i64> = BTreeMap::new();
    for id in ids {
        let case = load(app, id).await;
        for (cell, n) in stats::delta(None, stats::facts(&case).as_ref()) {
            *expected
                .entry((
                    cell.scope,
                    cell.company,
                    cell.metric.to_string(),
                    cell.bucket,
                ))
                .or_default() += n;
        }
    }
    let kept: BTreeMap<(i64, String, String, i64), i64> = app
        .store
        .stat_counters(0, None)
        .await
        .unwrap()
        .into_iter()
        .map(|c| ((c.scope, c.company, c.metric, c.bucket), c.n))
        .collect();
    assert_eq!(kept, expected);
}

async fn figures_fold_aliases_count_silence_and_keep_to_the_threshold(url: &str) {
    let app = App::new(url).await;
    let ids = file_cases(&app).await;
    let (anyone, mo) = (person("someone"), moderator("mo"));

    let r = app.say(&anyone, "/stats").await;
    assert!(r.contains("TokenPocket"), "{r}");
    assert!(
        r.contains("5 reports · 5 contacted support · 2 answered (40%)"),
        "{r}"
    );
    // Three of five never answered: the median is one of them, silent ten days now.
    assert!(r.contains("median still silent at 10d"), "{r}");
    assert!(r.contains("3 still waiting"), "{r}");
    assert!(!r.contains("imToken"), "under the threshold: {r}");
    assert!(r.contains("1 more company has fewer than 5 reports"), "{r}");
    for id in &ids {
        assert!(!r.contains(id.as_str()), "a case ID in the figures: {r}");
    }
    assert!(!r.contains("tp0") && !r.contains("im0"));
    // One company, however it is spelled.
    // (Chinese in the message: the answer is in Chinese.)
    let r = app.say(&anyone, "/stats tp钱包").await;
    assert!(r.contains("TokenPocket") && r.contains("5 份报告"), "{r}");
    let r = app.say(&anyone, "/stats im钱包").await;
    assert!(r.contains("报告还不够多"), "{r}");
    // That person now reads Chinese; another reads English.
    let anyone = person("another");
    let r = app.say(&anyone, "/stats imToken").await;
    assert!(r.contains("not enough reports yet"), "{r}");
    let r = app.say(&anyone, "/stats Acme Vault").await;
    assert!(r.contains("not enough reports yet"), "{r}");
    // Moderators see every company, marked.
    let r = app.say(&mo, "/stats").await;
    assert!(
        r.contains("imToken (under 5 reports: moderators only)"),
        "{r}"
    );
    assert!(
        r.contains("2 reports · 2 contacted support · 0 answered (0%)"),
        "{r}"
    );
    // In Chinese too.
    let r = app.say(&person("tp0"), "/lang zh").await;
    assert!(!r.is_empty());
    let r = app.say(&person("tp0"), "/stats").await;
    assert!(r.contains("客服响应统计") && r.contains("5 份报告"), "{r}");

    // The export is for moderators.
    let r = app.say(&anyone, "/stats export").await;
    assert!(r.contains("Only moderators can use /stats export"), "{r}");
    let h = app.handle(&mo, "/stats export", true).await;
    let files: Vec<_> = h.answers().filter_map(|o| o.attachment.as_ref()).collect();
    assert_eq!(files.len(), 2);
    let csv = &files[0].content;
    assert!(
        csv.starts_with("company,period,reported,contacted,answered"),
        "{csv}"
    );
    assert!(csv.contains("\nTokenPocket,all_time,5,5,2,40,3,-"), "{csv}");
    assert!(csv.contains("\nimToken,all_time,2,2,0,0,2,"), "{csv}");
    let json: serde_json::Value = serde_json::from_str(&files[1].content).unwrap();
    let tp = json
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["company"] == "TokenPocket" && r["period"] == "all_time")
        .unwrap();
    assert_eq!(tp["answered"], 2);
    assert!(tp["median_still_silent_secs"].as_i64().unwrap() >= 9 * 86_400);
    let p = tp["median_first_reply_secs"].clone();
    assert!(p.is_null(), "{p}");

    assert_counters_match_cases(&app, &ids).await;
    // A resolved case and a late answer move the counters, and still match.
    app.say(&person("tp2"), &format!("/replied {} sorted", ids[2]))
        .await;
    app.say(&person("tp3"), &format!("/resolve {}", ids[3]))
        .await;
    assert_counters_match_cases(&app, &ids).await;
    let r = app.say(&anyone, "/stats TokenPocket").await;
    assert!(
        r.contains("3 answered (60%)") && r.contains("resolved 20%"),
        "{r}"
    );
}

/// Runs one statement on the test database.
async fn exec(url: &str, sql: &str) {
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{url}"))
            .await
            .unwrap();
        sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
    }
}

async fn cases_filed_before_the_figures_are_counted_once(url: &str) {
    let app = App::new(url).await;
    let ids = file_cases(&app).await;
    let before = app.store.stat_counters(0, None).await.unwrap();
    app.store.close().await;
    // As a database from before migration 0007 looks once migrated: no facts, no counters.
    for sql in [
        "DELETE FROM case_stats",
        "DELETE FROM stat_counters",
        "DELETE FROM stat_dists",
        "DELETE FROM stat_companies",
        "DELETE FROM settings WHERE key = 'schema/stats_backfilled'",
    ] {
        exec(url, sql).await;
    }
    let store = recourse::store::SqlStore::open(url).await.unwrap();
    let mut after = store.stat_counters(0, None).await.unwrap();
    let mut before = before;
    let key = |c: &stats::Counter| (c.scope, c.company.clone(), c.metric.clone(), c.bucket);
    before.sort_by_key(key);
    after.sort_by_key(key);
    assert_eq!(after, before);
    let names = store.stat_companies().await.unwrap();
    assert!(names.iter().any(|(_, n)| n == "TokenPocket"), "{names:?}");
    // Opening again counts nothing twice.
    store.close().await;
    let store = recourse::store::SqlStore::open(url).await.unwrap();
    let mut again = store.stat_counters(0, None).await.unwrap();
    again.sort_by_key(key);
    assert_eq!(again, before);
    assert!(ids.len() == 7);
    store.close().await;
}

async fn press(app: &App, who: &Actor, out: &[OutboxItem], label: &str) -> String {
    let token = out
        .iter()
        .flat_map(|i| i.meta.buttons.iter())
        .find(|b| b.label == label)
        .map(|b| match &b.does {
            Does::Press { token } => token.clone(),
            other => panic!("not a press: {other:?}"),
        })
        .unwrap_or_else(|| panic!("no button {label}"));
    let msg = Incoming {
        actor: who.clone(),
        chat: ChatRef::Console,
        place: Place::Private,
        input: Input::Press(token),
        message: None,
        id: None,
        link: None,
        locale_hint: None,
    };
    app.input(&msg)
        .await
        .answers()
        .map(|o| o.text.clone())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn the_monthly_post_is_drafted_once_and_published_on_approval(url: &str) {
    let mut settings = recourse::config::Settings::default();
    settings.stats.monthly_post = true;
    settings.stats.monthly_at = "09:00".into();
    let app = App::with_settings(url, settings).await;
    file_cases(&app).await;
    // 2026-11-30 19:30 now. Not before the 1st at 09:00.
    let at = |d: u32, h: u32, m: u32| Utc.with_ymd_and_hms(2026, 12, d, h, m, 0).unwrap();
    app.clock.advance_to(at(1, 8, 59));
    app.scheduler.run_once(app.now()).await.unwrap();
    let out = app.deliver().await;
    assert!(
        to_mods(&out).iter().all(|m| !m.contains("Monthly")),
        "{:?}",
        to_mods(&out)
    );
    app.clock.advance_to(at(1, 9, 0));
    app.scheduler.run_once(app.now()).await.unwrap();
    let out = app.deliver().await;
    let mods = to_mods(&out).join("\n");
    assert!(
        mods.contains("Monthly support-responsiveness post ST-2026-12"),
        "{mods}"
    );
    assert!(mods.contains("Support responsiveness, 2026-12") && mods.contains("TokenPocket"));
    assert!(!mods.contains("imToken"), "under the threshold: {mods}");
    assert!(to_public(&out).is_empty(), "nothing public before approval");
    // Once per month, however often the scheduler runs (a second instance too).
    app.clock.advance_to(at(2, 9, 0));
    app.scheduler.run_once(app.now()).await.unwrap();
    let other = App::on(app.store.clone(), app.clock.clone(), {
        let mut s = recourse::config::Settings::default();
        s.stats.monthly_post = true;
        s
    });
    other.scheduler.run_once(app.now()).await.unwrap();
    assert!(
        to_mods(&app.deliver().await)
            .iter()
            .all(|m| !m.contains("Monthly"))
    );
    assert!(
        to_mods(&other.deliver().await)
            .iter()
            .all(|m| !m.contains("Monthly"))
    );

    let r = press(&app, &person("tp0"), &out, "Approve").await;
    assert!(r.contains("Only moderators"), "{r}");
    let r = press(&app, &moderator("mo"), &out, "Approve").await;
    assert!(r.contains("Approved ST-2026-12"), "{r}");
    let sent = app.deliver().await;
    let public = to_public(&sent).join("\n");
    assert!(
        public.contains("Support responsiveness, 2026-12") && public.contains("TokenPocket"),
        "{public}"
    );
    let r = press(&app, &moderator("mo"), &out, "Reject").await;
    assert!(r.contains("was already approved"), "{r}");
    assert!(to_public(&app.deliver().await).is_empty());
}

/// Silences of weeks, months and years are read to the day.
async fn old_silences_are_read_to_the_day(url: &str) {
    let app = App::new(url).await;
    let ages = [20i64, 100, 300, 600, 1000];
    let mut ids = Vec::new();
    for (i, age) in ages.iter().enumerate() {
        let day = (start() - Duration::days(*age)).format("%Y-%m-%d");
        let id = app
            .report(
                &person(&format!("sp{i}")),
                &format!(r#"wallet=SafePal chain=eth amount="1 ETH" contacted="{day} email""#),
            )
            .await;
        ids.push(id);
    }
    let row = export_row(&app, "SafePal", "all_time").await.unwrap();
    assert_eq!(row["still_silent"], 5, "{row}");
    let days = |k: &str| row[k].as_i64().unwrap() / 86_400;
    // Nearest rank of five: the median is the third silence, the 90th percentile the fifth.
    assert_eq!(days("median_still_silent_secs"), 300, "{row}");
    assert_eq!(days("p90_still_silent_secs"), 1000, "{row}");
    assert_eq!(row["longest_silence_days"], 1000, "{row}");
    // The kept counters (counts and distributions) equal a fold of the cases.
    assert_counters_match_cases(&app, &ids).await;
    let r = app.say(&moderator("mo"), "/stats SafePal").await;
    assert!(r.contains("5 still waiting, longest"), "{r}");

    // The last 30 days hold the five reports for 30 days (read from blocks of days as the
    // window moves), and none from the 31st.
    for _ in 0..29 {
        app.wait(Duration::days(1)).await;
        assert_eq!(reported_lately(&app, "SafePal").await, Some(5));
    }
    app.wait(Duration::days(1)).await;
    assert_eq!(reported_lately(&app, "SafePal").await.unwrap_or(0), 0);
}

/// A company's reports in the export's last 30 days, if it has a row there.
async fn reported_lately(app: &App, company: &str) -> Option<i64> {
    export_row(app, company, "last_30_days")
        .await
        .map(|r| r["reported"].as_i64().unwrap())
}

/// A company's row of one period (`all_time`, `last_30_days`) in a moderator's JSON export.
async fn export_row(app: &App, company: &str, period: &str) -> Option<serde_json::Value> {
    let h = app.handle(&moderator("mo"), "/stats export", true).await;
    let files: Vec<_> = h.answers().filter_map(|o| o.attachment.as_ref()).collect();
    let json: serde_json::Value = serde_json::from_str(&files[1].content).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .find(|r| r["company"] == company && r["period"] == period)
        .cloned()
}

/// A database whose counters were kept before migration 0008 keeps every count through 0008
/// and 0009: the silences and reply times day by day and bucket by bucket (also before 1970),
/// and the per-day counters again in their blocks of days of report.
async fn counters_kept_before_0008_survive_the_migrations(url: &str) {
    let pg = url.starts_with("postgres");
    // The migrations up to 0007 only, as an older binary applied them.
    let dir = tempfile::tempdir().unwrap();
    let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(if pg { "postgres" } else { "sqlite" });
    for entry in std::fs::read_dir(&from).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name.as_str() < "0008" {
            std::fs::copy(&path, dir.path().join(&name)).unwrap();
        }
    }
    let migrator = sqlx::migrate::Migrator::new(dir.path()).await.unwrap();
    let mut before: Vec<(i64, &str, i64, i64)> = [-5i64, 3, 20_000, 20_001, 20_063, 20_064]
        .iter()
        .map(|d| (stats::ALL_TIME, "silent", *d, 2))
        .collect();
    before.extend([
        (stats::ALL_TIME, "reply", 40, 3),
        (stats::ALL_TIME, "reported", 0, 15),
        (20_000, "silent", 20_000, 1),
        (20_000, "reported", 0, 1),
    ]);
    let insert = format!(
        "INSERT INTO stat_counters (scope, company, metric, bucket, n) VALUES {}",
        before
            .iter()
            .map(|(s, m, b, n)| format!("({s}, 'acme', '{m}', {b}, {n})"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if pg {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        migrator.run(&pool).await.unwrap();
        sqlx::query(&insert).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{url}?mode=rwc"))
            .await
            .unwrap();
        migrator.run(&pool).await.unwrap();
        sqlx::query(&insert).execute(&pool).await.unwrap();
        pool.close().await;
    }
    let store = recourse::store::SqlStore::open(url).await.unwrap();
    let kept: BTreeMap<(i64, String, i64), i64> = store
        .stat_counters(0, None)
        .await
        .unwrap()
        .into_iter()
        .map(|c| ((c.scope, c.metric, c.bucket), c.n))
        .collect();
    let mut expected: BTreeMap<(i64, String, i64), i64> = BTreeMap::new();
    for (scope, metric, bucket, n) in &before {
        expected.insert((*scope, metric.to_string(), *bucket), *n);
        // The per-day rows again in their blocks of days of report.
        if *scope >= 0 {
            for size in stats::REPORT_BLOCKS {
                let block = stats::block_scope(size, scope / size);
                expected.insert((block, metric.to_string(), *bucket), *n);
            }
        }
    }
    assert_eq!(kept, expected);
    // And /stats reads them: 15 reported, the silences counted on their days.
    let summary = store.stat_summary(20_070, 20_100, None).await.unwrap();
    let all = &summary["acme"].0;
    assert_eq!(all.count("reported"), 15);
    assert_eq!(all.silent.values().sum::<i64>(), 12);
    assert_eq!(all.silent.keys().next(), Some(&-5));
    assert_eq!(all.replies.get(&40), Some(&3));
    store.close().await;
}

/// Ten SafePal reports by `<side>0` … `<side>9`.
async fn file_ten(app: &App, side: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..10 {
        let who = person(&format!("{side}{i}"));
        ids.push(
            app.report(
                &who,
                r#"wallet=SafePal chain=eth amount="1 ETH" contacted="2026-11-20 email""#,
            )
            .await,
        );
    }
    ids
}

/// Every other victim of [`file_ten`] records that support answered.
async fn reply_to_half(app: &App, side: &str, ids: Vec<String>) {
    for (i, id) in ids.iter().enumerate().filter(|(i, _)| i % 2 == 0) {
        let r = app
            .say(&person(&format!("{side}{i}")), &format!("/replied {id} ok"))
            .await;
        assert!(!r.contains("rror"), "{r}");
    }
}

/// Two instances saving cases of one company at once: each save changes the company's
/// distribution rows (read, changed, written back), and none of the changes is lost.
async fn concurrent_saves_of_one_company_lose_no_count(url: &str) {
    let a = App::new(url).await;
    let store = recourse::store::SqlStore::open(url).await.unwrap();
    let b = App::on(store, a.clock.clone(), Default::default());
    let (x, y) = tokio::join!(file_ten(&a, "a"), file_ten(&b, "b"));
    a.wait(Duration::hours(30)).await;
    let ids: Vec<String> = x.iter().chain(&y).cloned().collect();
    tokio::join!(reply_to_half(&a, "a", x), reply_to_half(&b, "b", y));
    assert_counters_match_cases(&a, &ids).await;
    let row = export_row(&a, "SafePal", "all_time").await.unwrap();
    assert_eq!(
        (&row["reported"], &row["answered"], &row["still_silent"]),
        (&20.into(), &10.into(), &10.into()),
        "{row}"
    );
}

/// Many transactions on two stores adding to one new distribution row at once: the row is
/// created once and locked while each changes it, so every addition is kept.
async fn concurrent_additions_to_one_distribution_are_all_kept(url: &str) {
    let stores = [
        recourse::store::SqlStore::open(url).await.unwrap(),
        recourse::store::SqlStore::open(url).await.unwrap(),
    ];
    let cell = |metric: &'static str, bucket: i64| stats::Cell {
        scope: stats::ALL_TIME,
        company: "acme".into(),
        metric,
        bucket,
    };
    let mut tasks = Vec::new();
    for i in 0..80 {
        let store = stores[i % 2].clone();
        // No count changes with them (as when a case's first contact moves), so no counter
        // row's lock orders these transactions: only the distribution row's own.
        let sum: BTreeMap<stats::Cell, i64> = [
            (cell("silent", 20_000), 1),
            (cell("reply", 40 + (i % 3) as i64), 1),
        ]
        .into_iter()
        .collect();
        tasks.push(tokio::spawn(async move {
            store
                .add_stat_counters(&sum, &[("acme".into(), "Acme".into())])
                .await
                .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let kept: BTreeMap<(String, i64), i64> = stores[0]
        .stat_counters(0, None)
        .await
        .unwrap()
        .into_iter()
        .map(|c| ((c.metric, c.bucket), c.n))
        .collect();
    let expected: BTreeMap<(String, i64), i64> = [
        (("silent".to_string(), 20_000), 80),
        (("reply".to_string(), 40), 27),
        (("reply".to_string(), 41), 27),
        (("reply".to_string(), 42), 26),
    ]
    .into_iter()
    .collect();
    assert_eq!(kept, expected);
    for s in stores {
        s.close().await;
    }
}

both_backends!(
    counters_kept_before_0008_survive_the_migrations,
    concurrent_saves_of_one_company_lose_no_count,
    concurrent_additions_to_one_distribution_are_all_kept,
    old_silences_are_read_to_the_day,
    figures_fold_aliases_count_silence_and_keep_to_the_threshold,
    cases_filed_before_the_figures_are_counted_once,
    the_monthly_post_is_drafted_once_and_published_on_approval,
);
