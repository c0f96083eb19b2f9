//! The `recourse` command: parse the command line, load settings, hand over to the library.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use recourse::config::{Settings, Sources};

#[derive(Parser)]
#[command(
    name = "recourse",
    version,
    about = "Walks crypto-theft victims up the escalation ladder"
)]
struct Cli {
    /// Settings file (default: recourse.toml if present).
    #[arg(long, global = true, env = "RECOURSE_CONFIG")]
    config: Option<PathBuf>,
    /// Secrets file with platform tokens (default: secrets.toml if present).
    #[arg(long, global = true, env = "RECOURSE_SECRETS")]
    secrets: Option<PathBuf>,
    /// Database: an SQLite file path or a postgres:// URL (overrides the settings).
    #[arg(long, global = true)]
    db: Option<String>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Chat with the bot in the terminal; reads a script (one message per line) from a pipe.
    Console,
    /// Run the scheduler and the outbox until stopped.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Validate the settings and print what is wrong.
    CheckConfig,
    /// Check that a case dossier was not changed since it was made.
    VerifyDossier { file: PathBuf },
    /// Measure the store, scheduler, engine and outbox on a throwaway database (`--db`: a new
    /// SQLite file or a postgres:// server URL; default a temporary SQLite file).
    Bench {
        /// Open cases to build (default 1,000,000); with --crash, steps falling due (20,000).
        #[arg(long)]
        cases: Option<u64>,
        /// 100,000 cases and shorter phases (under two minutes on a laptop); with --crash,
        /// 2,000 steps.
        #[arg(long)]
        quick: bool,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// The crash test instead: two `recourse serve` processes on one PostgreSQL database
        /// (`--db postgres://…`), one killed with SIGKILL and restarted while steps fall due;
        /// exits non-zero unless every step ran once and every webhook message arrived.
        #[arg(long)]
        crash: bool,
        /// With --crash: how many times a service is killed.
        #[arg(long, default_value_t = 5, requires = "crash")]
        kills: u32,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Cmd::VerifyDossier { file } = &cli.command {
        return verify_dossier(file);
    }
    let console = matches!(cli.command, Cmd::Console | Cmd::Bench { .. });
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RECOURSE_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(if console { "warn" } else { "info" })
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    if let Cmd::Bench {
        cases,
        quick,
        json,
        crash: true,
        kills,
    } = cli.command
    {
        let steps = cases.unwrap_or(if quick { 2_000 } else { 20_000 });
        return crash_bench(cli.db, steps, kills, json);
    }
    if let Cmd::Bench {
        cases, quick, json, ..
    } = cli.command
    {
        let cases = cases.unwrap_or(if quick { 100_000 } else { 1_000_000 });
        return bench(
            recourse::bench::Options {
                db: cli.db,
                cases,
                quick,
            },
            json,
        );
    }
    let sources = Sources {
        config: cli.config,
        secrets: cli.secrets,
    };
    let mut settings = match Settings::load(&sources) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("recourse: invalid settings:\n{e}");
            return ExitCode::from(2);
        }
    };
    if let Some(db) = cli.db {
        settings.database_url = db;
    }
    if let Cmd::CheckConfig = cli.command {
        return check_config(&settings);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("recourse: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Cmd::Console => recourse::app::console(settings, std::io::stdin().is_terminal()).await,
            Cmd::Serve => recourse::app::serve(settings).await,
            Cmd::Migrate => recourse::app::migrate(settings).await,
            Cmd::CheckConfig | Cmd::VerifyDossier { .. } | Cmd::Bench { .. } => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("recourse: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn check_config(settings: &Settings) -> ExitCode {
    let ladder = match settings.ladder() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("ladder: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = recourse::app::services(settings) {
        eprintln!("{e:#}");
        return ExitCode::from(2);
    }
    println!("settings OK");
    println!(
        "  database: {}",
        recourse::app::redact_url(&settings.database_url)
    );
    println!("  default language: {}", settings.default_locale.key());
    println!(
        "  community: {} (supports {})",
        settings.community.name.as_deref().unwrap_or("(unnamed)"),
        settings.community.company.as_deref().unwrap_or("(not set)")
    );
    for s in ladder.steps() {
        let repeat = s
            .repeat
            .map(|r| format!(", repeats every {}", humantime::format_duration(r)))
            .unwrap_or_default();
        println!(
            "  ladder: {} ({}) after {}{repeat}",
            s.key,
            s.kind.key(),
            humantime::format_duration(s.after)
        );
    }
    println!(
        "  discord token: {}",
        if settings.discord.token.is_some() {
            "set"
        } else {
            "not set"
        }
    );
    println!(
        "  telegram token: {}",
        if settings.telegram.token.is_some() {
            "set"
        } else {
            "not set"
        }
    );
    // The host only: a URL can carry a token in its path, and the secret is never shown.
    match &settings.webhook.url {
        Some(url) => println!(
            "  webhook: {} (signed, timeout {})",
            url.host_str().unwrap_or("?"),
            humantime::format_duration(settings.webhook.timeout)
        ),
        None => println!("  webhook: not set"),
    }
    ExitCode::SUCCESS
}

fn verify_dossier(file: &std::path::Path) -> ExitCode {
    use recourse::core::dossier::{Verdict, verify};
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("recourse: cannot read {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    match verify(&text) {
        Verdict::Intact => {
            println!(
                "{}: intact (the SHA-256 checksum matches the content)",
                file.display()
            );
            ExitCode::SUCCESS
        }
        Verdict::Modified => {
            println!(
                "{}: MODIFIED since it was made (the checksum does not match)",
                file.display()
            );
            ExitCode::FAILURE
        }
        Verdict::NoChecksum => {
            println!("{}: no Recourse checksum found", file.display());
            ExitCode::from(2)
        }
    }
}

fn bench(opts: recourse::bench::Options, json: bool) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("recourse: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let started = std::time::Instant::now();
    let report = runtime.block_on(recourse::bench::run(opts, |phase| {
        eprintln!("bench [{:>5.1} s] {phase}", started.elapsed().as_secs_f64())
    }));
    match report {
        Ok(report) if json => match serde_json::to_string_pretty(&report) {
            Ok(j) => {
                println!("{j}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("recourse bench: {e}");
                ExitCode::FAILURE
            }
        },
        Ok(report) => {
            print!("{}", recourse::bench::table(&report));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("recourse bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn crash_bench(db: Option<String>, steps: u64, kills: u32, json: bool) -> ExitCode {
    let Some(db) = db.filter(|d| d.starts_with("postgres://") || d.starts_with("postgresql://"))
    else {
        eprintln!(
            "recourse bench --crash: needs --db postgres://… (a PostgreSQL server where a \
             throwaway database is created): two services share one database"
        );
        return ExitCode::from(2);
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("recourse bench --crash: cannot find the recourse binary: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("recourse: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let started = std::time::Instant::now();
    let opts = recourse::bench::crash::CrashOptions {
        db,
        steps,
        kills,
        exe,
    };
    let report = runtime.block_on(recourse::bench::crash::run(opts, |phase| {
        eprintln!("crash [{:>5.1} s] {phase}", started.elapsed().as_secs_f64())
    }));
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("recourse bench --crash: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(j) => println!("{j}"),
            Err(e) => {
                eprintln!("recourse bench --crash: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", report.table());
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
