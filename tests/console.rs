//! The `recourse console` binary as a newcomer runs it: a scripted tour through the whole
//! ladder, bad input, and a process killed between claiming a step and sending its message.

use std::io::Write;
use std::process::{Command, ExitStatus, Stdio};

fn run(db: &std::path::Path, script: &str, fault: Option<&str>) -> (ExitStatus, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_recourse"));
    cmd.args(["--db", &db.display().to_string(), "console"])
        .env("RECOURSE_LOG", "error")
        .current_dir(db.parent().expect("db in a folder"))
        .env_remove("RECOURSE_FAULT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(f) = fault {
        cmd.env("RECOURSE_FAULT", f);
    }
    let mut child = cmd.spawn().expect("start recourse");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn the_readme_tour_climbs_the_whole_ladder() {
    let dir = tempfile::tempdir().unwrap();
    let script = std::fs::read_to_string("examples/tour.txt").unwrap();
    let (status, out) = run(&dir.path().join("tour.db"), &script, None);
    assert!(status.success(), "{out}");
    for want in [
        "Your case RC-",
        "Revoke the approvals",
        "Subject: Follow-up",
        "reminder #2 sent to alice",
        "A public post is drafted and waits for your decision",
        "recourse → #public:",
        "the moderators published the public post",
        "Formal complaint",
        "FBI Internet Crime Complaint Center",
        "step: report to regulators and police",
        "mo (mod) · public post approved and published",
        "[file saved: exports/recourse-RC-",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    let exported: Vec<_> = std::fs::read_dir(dir.path().join("exports"))
        .unwrap()
        .collect();
    assert_eq!(exported.len(), 2, "the dossier as Markdown and HTML");
}

#[test]
fn bad_input_never_stops_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let long = "y".repeat(10_000);
    let script = format!(
        "/frobnicate\n/wait soon\n/as\n{long}\n/approve RC-AAAAA-BBBBB\n/as mo mod\n/approve RC-AAAAA-BBBBB\n/report wallet=Ledger\n/status\n"
    );
    let (status, out) = run(&dir.path().join("bad.db"), &script, None);
    assert!(status.success(), "{out}");
    for want in [
        "I don't know the command /frobnicate",
        "Usage: /wait <duration>",
        "Usage: /as <name> [mod]",
        "too long",
        "Only moderators can use /approve",
        "can't find a case",
        "Your case RC-",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert!(
        !out.contains(&long[..200]),
        "the long line is not echoed whole"
    );
}

#[test]
fn a_kill_between_claim_and_send_loses_nothing_and_sends_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let (status, out) = run(
        &db,
        "/report contacted=now\n/wait 25h\n",
        Some("abort-after-claim"),
    );
    assert!(
        !status.success(),
        "the fault point must kill the process:\n{out}"
    );
    assert!(out.contains("Your case RC-"), "{out}");
    assert!(
        !out.contains("Time to follow up"),
        "killed before sending:\n{out}"
    );

    // Restart: the claimed step is not taken again, and its message goes out once.
    let (status, out) = run(&db, "", None);
    assert!(status.success(), "{out}");
    assert_eq!(out.matches("Time to follow up").count(), 1, "{out}");
    assert_eq!(out.matches("reminder sent to you").count(), 1, "{out}");

    let (status, out) = run(&db, "/wait 1h\n", None);
    assert!(status.success(), "{out}");
    assert!(!out.contains("Time to follow up"), "sent twice:\n{out}");
}

/// Runs `recourse <args>` with no stdin; returns the exit code and stdout + stderr.
fn recourse(args: &[&str], dir: &std::path::Path) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_recourse"))
        .args(args)
        .current_dir(dir)
        .env("RECOURSE_LOG", "error")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn check_config_accepts_the_example_and_explains_mistakes() {
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::canonicalize("recourse.example.toml").unwrap();
    let (code, out) = recourse(
        &["--config", example.to_str().unwrap(), "check-config"],
        dir.path(),
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("settings OK") && out.contains("freeze_request"),
        "{out}"
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[ladder]\nsteps = [{kind=\"complaint\", after=\"2d\"}, {kind=\"reminder\", after=\"1d\"}]\n").unwrap();
    let (code, out) = recourse(
        &["--config", bad.to_str().unwrap(), "check-config"],
        dir.path(),
    );
    assert_eq!(code, Some(2));
    assert!(out.contains("list steps in order"), "{out}");

    std::fs::write(&bad, "databse_url = \"x\"\n").unwrap();
    let (code, out) = recourse(
        &["--config", bad.to_str().unwrap(), "check-config"],
        dir.path(),
    );
    assert_eq!(code, Some(2));
    assert!(
        out.contains("databse_url") && out.contains("database_url"),
        "{out}"
    );

    let (code, out) = recourse(
        &["--config", "/nonexistent.toml", "check-config"],
        dir.path(),
    );
    assert_eq!(code, Some(2));
    assert!(out.contains("does not exist"), "{out}");
}

#[test]
fn migrate_creates_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = recourse(&["--db", "fresh.db", "migrate"], dir.path());
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("migrations applied (sqlite"), "{out}");
    assert!(dir.path().join("fresh.db").exists());
}

#[test]
fn verify_dossier_tells_intact_from_modified() {
    use recourse::core::dossier::{SEAL_PLACEHOLDER, seal};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("d.md");
    std::fs::write(
        &file,
        seal(&format!(
            "# Case\nTaken: 5 ETH\nSHA-256: {SEAL_PLACEHOLDER}\n"
        )),
    )
    .unwrap();
    let (code, out) = recourse(&["verify-dossier", "d.md"], dir.path());
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("intact"), "{out}");
    let edited = std::fs::read_to_string(&file)
        .unwrap()
        .replace("5 ETH", "50 ETH");
    std::fs::write(&file, edited).unwrap();
    let (code, out) = recourse(&["verify-dossier", "d.md"], dir.path());
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("MODIFIED"), "{out}");
    std::fs::write(&file, "no seal").unwrap();
    assert_eq!(recourse(&["verify-dossier", "d.md"], dir.path()).0, Some(2));
}
