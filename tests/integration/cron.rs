//! Under a real cron: the shipped `/etc/cron.d` file's lines, run by `cron -f`, with a fake
//! `sendmail` that records the mail cron sends.
//!
//! Four jobs fire in the same minute: two that succeed (no mail), one whose mint fails and one
//! whose job file has an inline comment (one mail each, of exactly one line). Needs root, cron
//! (Debian package cron), no cron already running and no real `/usr/sbin/sendmail`; otherwise
//! `skipped:`, or a failure under `CREDSHIM_TEST_REQUIRE_ALL` (CI). About a minute: cron runs
//! jobs on the minute.

use crate::harness::{BIN, is_root, skip};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SENDMAIL: &str = "/usr/sbin/sendmail";

/// Files put in system places for the test, removed (and cron stopped) when it ends.
struct Installed {
    files: Vec<PathBuf>,
    cron: Option<Child>,
}

impl Drop for Installed {
    fn drop(&mut self) {
        if let Some(mut c) = self.cron.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        for f in &self.files {
            let _ = fs::remove_file(f);
        }
    }
}

/// The mails the fake sendmail recorded in `dir`.
fn mails_in(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("mail."))
        })
        .collect()
}

fn write_private(path: &Path, text: &str, mode: u32) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn cron_runs_the_shipped_lines_and_mails_one_line_per_failure() {
    if !is_root() {
        return skip("needs root (cron.d and a fake sendmail)");
    }
    if Command::new("cron").arg("-V").output().is_err() && !Path::new("/usr/sbin/cron").exists() {
        return skip("cron is not installed (Debian package cron)");
    }
    if Path::new(SENDMAIL).exists() {
        return skip("a real /usr/sbin/sendmail is installed; not replacing it");
    }
    let running = Command::new("pgrep").args(["-x", "cron"]).output();
    if running.is_ok_and(|o| o.status.success()) {
        return skip("a cron daemon is already running");
    }
    let dir = tempfile::Builder::new()
        .prefix("credshim-cron.")
        .tempdir()
        .unwrap();
    let d = dir.path();
    fs::set_permissions(d, fs::Permissions::from_mode(0o700)).unwrap();
    let mut installed = Installed {
        files: Vec::new(),
        cron: None,
    };
    // The fake MTA: each mail to its own file.
    write_private(
        Path::new(SENDMAIL),
        &format!(
            "#!/bin/sh\ncat > \"$(mktemp {}/mail.XXXXXX)\"\n",
            d.display()
        ),
        0o755,
    );
    installed.files.push(SENDMAIL.into());

    let job = |name: &str, mint: &str, extra: &str| {
        let target = d.join(format!("{name}.env"));
        write_private(&target, "TOKEN=old\n", 0o600);
        let file = d.join(format!("{name}.job"));
        write_private(
            &file,
            &format!(
                "CREDSHIM_TARGET={}\nCREDSHIM_SET=TOKEN\nCREDSHIM_MINT='{mint}'\n{extra}",
                target.display()
            ),
            0o600,
        );
        (file, target)
    };
    let (ok1, ok1_target) = job("ok1", "printf new1", "");
    let (ok2, ok2_target) = job("ok2", "printf new2", "");
    let (bad_mint, _) = job("badmint", "echo denied >&2; exit 3", "CREDSHIM_RETRIES=0\n");
    let (commented, commented_target) = job(
        "comment",
        "printf new3",
        "CREDSHIM_MIN_TTL=15m   # refresh early\n",
    );

    // The shipped file's header (SHELL, PATH, MAILTO) and its line, every minute.
    let shipped =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/cron/credshim"))
            .unwrap();
    let header: String = shipped
        .lines()
        .filter(|l| l.starts_with("SHELL=") || l.starts_with("PATH=") || l.starts_with("MAILTO="))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(
        header.contains("MAILTO=root"),
        "the shipped header: {header}"
    );
    let shipped_line = shipped
        .lines()
        .find(|l| l.starts_with("#*/5") && l.contains("rotate --job"))
        .expect("a --job line in the shipped cron file");
    let (schedule, command) = shipped_line
        .trim_start_matches('#')
        .split_once("root")
        .expect("a user column");
    assert_eq!(
        schedule.split_whitespace().collect::<Vec<_>>(),
        ["*/5", "*", "*", "*", "*"]
    );
    let mut table = header;
    for j in [&ok1, &ok2, &bad_mint, &commented] {
        // The shipped line, every minute, with this build, this job and a short splay.
        let line = command
            .trim()
            .replace("/usr/bin/credshim", BIN)
            .replace("/etc/credshim/backstage.env", &j.display().to_string())
            .replace("--splay 60s", "--splay 1s");
        table.push_str(&format!("* * * * * root {line}\n"));
    }
    let cron_d = PathBuf::from(format!("/etc/cron.d/credshim-test-{}", std::process::id()));
    write_private(&cron_d, &table, 0o644);
    installed.files.push(cron_d.clone());

    let cron = Command::new("cron")
        .arg("-f")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    installed.cron = Some(cron);

    // Wait for the minute, then for the four jobs and the two mails.
    let started = Instant::now();
    let mails = loop {
        let mails = mails_in(d);
        let rotated = fs::read_to_string(&ok1_target)
            .unwrap_or_default()
            .contains("new1")
            && fs::read_to_string(&ok2_target)
                .unwrap_or_default()
                .contains("new2");
        if (mails.len() >= 2 && rotated) || started.elapsed() > Duration::from_secs(130) {
            // Let a late third mail (there must be none) arrive.
            std::thread::sleep(Duration::from_secs(3));
            break mails_in(d);
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(
        fs::read_to_string(&ok1_target).unwrap(),
        "TOKEN=new1\n",
        "cron did not run the first job within {:?}",
        started.elapsed()
    );
    assert_eq!(fs::read_to_string(&ok2_target).unwrap(), "TOKEN=new2\n");
    assert_eq!(
        fs::read_to_string(&commented_target).unwrap(),
        "TOKEN=old\n"
    );
    let mut bodies: Vec<String> = mails
        .iter()
        .map(|m| {
            let text = fs::read_to_string(m).unwrap();
            let body = text.split_once("\n\n").map_or("", |(_, b)| b).to_string();
            assert_eq!(
                body.trim_end().lines().count(),
                1,
                "a mail of more than one line:\n{text}"
            );
            body.trim_end().to_string()
        })
        .collect();
    bodies.sort();
    assert_eq!(bodies.len(), 2, "mails: {bodies:#?}");
    assert!(
        bodies
            .iter()
            .any(|b| b.starts_with("credshim: mint failed:") && b.contains("denied")),
        "{bodies:#?}"
    );
    assert!(
        bodies
            .iter()
            .any(|b| b.starts_with("credshim: ") && b.contains("line 4: CREDSHIM_MIN_TTL")),
        "{bodies:#?}"
    );
    eprintln!(
        "cron: 2 silent successes, 2 failures mailed as one line each, in {:?}: {bodies:?}",
        started.elapsed()
    );
}
