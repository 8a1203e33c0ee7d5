//! A small builder that runs the real `credshim` binary in a temp dir, in just's style:
//! `Test::new().file(".env", "A=1\n").mint("echo s3cr3t").args([...]).run().status(0)`.
//!
//! Fake mint and reload programs are shell scripts in the test's dir; `log_line` lets them append
//! to `log`, so a test can assert what ran and in which order.

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_credshim");

/// A shell line that appends `what` to the test's log file.
pub fn log_line(what: &str) -> String {
    format!("echo {what} >> \"$TEST_DIR/log\"")
}

#[must_use]
pub struct Test {
    pub dir: TempDir,
    args: Vec<OsString>,
    env: Vec<(String, String)>,
    mint: Option<PathBuf>,
    wrap: Option<String>,
}

impl Test {
    /// A `credshim rotate` run.
    pub fn new() -> Self {
        Test::bare().arg("rotate")
    }

    /// A run with no subcommand given yet.
    pub fn bare() -> Self {
        Test {
            dir: tempfile::tempdir().expect("temp dir"),
            args: Vec::new(),
            env: Vec::new(),
            mint: None,
            wrap: None,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn file(self, name: &str, contents: &str) -> Self {
        let p = self.path(name);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(p, contents).unwrap();
        self
    }

    /// An executable shell script `name` in the test dir.
    pub fn script(self, name: &str, body: &str) -> Self {
        let p = self.path(name);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        self
    }

    /// The mint: a script whose path goes after `--`. It logs `mint` to the log file first.
    pub fn mint(self, body: &str) -> Self {
        let t = self.script("mint", &format!("{}\n{body}", log_line("mint")));
        let p = t.path("mint");
        Test { mint: Some(p), ..t }
    }

    pub fn arg(mut self, a: impl Into<OsString>) -> Self {
        self.args.push(a.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    /// Run through `sh -c "<prefix> \"$@\""`, e.g. `ulimit -f 1; exec`.
    pub fn wrap(mut self, prefix: &str) -> Self {
        self.wrap = Some(prefix.into());
        self
    }

    pub fn command(&self) -> Command {
        let mut cmd = match &self.wrap {
            Some(prefix) => {
                let mut c = Command::new("/bin/sh");
                c.arg("-c")
                    .arg(format!("{prefix} \"$@\""))
                    .arg("sh")
                    .arg(BIN);
                c
            }
            None => Command::new(BIN),
        };
        cmd.current_dir(self.dir.path()).args(&self.args);
        if let Some(m) = &self.mint {
            cmd.arg("--").arg(m);
        }
        for (k, _) in std::env::vars() {
            if k.starts_with("CREDSHIM_") || k == "RUST_LOG" || k == "JOURNAL_STREAM" {
                cmd.env_remove(k);
            }
        }
        cmd.env("TEST_DIR", self.dir.path());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    #[must_use = "check the run: .status(code), and what it printed"]
    pub fn run(self) -> Done {
        let out = self.command().output().expect("run credshim");
        Done::new(
            self,
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// A finished run. Its stdout and stderr must be empty (cron mails any output) unless the test
/// states what they hold (`stdout_has`, `stderr_has`, `json`, `output_any`): checked when it
/// is dropped, or when [`Done::again`] takes the test back. (`Test::run` is `#[must_use]`, so a
/// run whose result nobody looks at does not compile cleanly.)
pub struct Done {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// The test that ran (`None` once [`Done::again`] took it back).
    test: Option<Test>,
    stdout_stated: std::cell::Cell<bool>,
    stderr_stated: std::cell::Cell<bool>,
}

impl Drop for Done {
    fn drop(&mut self) {
        if std::thread::panicking() || self.test.is_none() {
            return;
        }
        self.check_output();
    }
}

impl Done {
    /// A finished run of `test` that printed `stdout` and `stderr`.
    pub fn new(test: Test, code: Option<i32>, stdout: String, stderr: String) -> Done {
        Done {
            code,
            stdout,
            stderr,
            test: Some(test),
            stdout_stated: Default::default(),
            stderr_stated: Default::default(),
        }
    }

    /// The test, to run it again: this run's output is checked first.
    #[track_caller]
    pub fn again(mut self) -> Test {
        self.check_output();
        self.test.take().expect("the test")
    }

    pub fn test(&self) -> &Test {
        self.test.as_ref().expect("the test")
    }

    #[track_caller]
    fn check_output(&self) {
        assert!(
            self.stdout_stated.get() || self.stdout.is_empty(),
            "unexpected stdout (state it with stdout_has):\n{}",
            self.stdout
        );
        if self.stderr_stated.get() {
            return;
        }
        // DESIGN: success is silent; a failure is one line, `credshim: <what>: <why>`.
        let one_failure_line = self.code != Some(0)
            && self.stderr.starts_with("credshim: ")
            && self.stderr.trim_end().lines().count() == 1;
        assert!(
            self.stderr.is_empty() || one_failure_line,
            "unexpected stderr for exit {:?} (state it with stderr_has):\n{}",
            self.code,
            self.stderr
        );
    }
}

impl Done {
    #[track_caller]
    pub fn status(self, code: i32) -> Self {
        assert_eq!(
            self.code,
            Some(code),
            "exit code\n--- stdout:\n{}\n--- stderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.test().path(name)
    }

    pub fn read(&self, name: &str) -> String {
        fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    #[track_caller]
    pub fn file_is(self, name: &str, contents: &str) -> Self {
        assert_eq!(
            self.read(name),
            contents,
            "contents of {name}\n--- stderr:\n{}",
            self.stderr
        );
        self
    }

    /// The one JSON object `--output json` printed on stdout.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        self.stdout_stated.set(true);
        serde_json::from_str(self.stdout.trim()).expect("one JSON object on stdout")
    }

    /// The log the fake programs wrote, one entry per line.
    pub fn log(&self) -> Vec<String> {
        self.read("log").lines().map(str::to_string).collect()
    }

    #[track_caller]
    pub fn log_is(self, expected: &[&str]) -> Self {
        assert_eq!(self.log(), expected, "\n--- stderr:\n{}", self.stderr);
        self
    }

    #[track_caller]
    pub fn stderr_has(self, needle: &str) -> Self {
        self.stderr_stated.set(true);
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stdout_has(self, needle: &str) -> Self {
        self.stdout_stated.set(true);
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}:\n{}",
            self.stdout
        );
        self
    }

    /// Whatever the run printed is the test's own business (it reads the fields itself).
    pub fn output_any(self) -> Self {
        self.stdout_stated.set(true);
        self.stderr_stated.set(true);
        self
    }

    #[track_caller]
    pub fn gone(self, name: &str) -> Self {
        assert!(!self.path(name).exists(), "{name} still exists");
        self
    }

    /// No temp file of credshim's left in the dir.
    #[track_caller]
    pub fn no_temp(self) -> Self {
        let left = temps(self.test().dir.path());
        assert!(left.is_empty(), "temp files left: {left:?}");
        self
    }

    /// Neither stdout nor stderr contains `secret`.
    #[track_caller]
    pub fn hides(self, secret: &str) -> Self {
        assert!(
            !self.stdout.contains(secret),
            "stdout leaks the secret:\n{}",
            self.stdout
        );
        assert!(
            !self.stderr.contains(secret),
            "stderr leaks the secret:\n{}",
            self.stderr
        );
        self
    }
}

pub fn temps(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".credshim.") && n.ends_with(".tmp"))
        .collect()
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Whether tests that need something missing here must fail rather than skip (set by .ci/run).
pub fn required() -> bool {
    std::env::var_os("CREDSHIM_TEST_REQUIRE_ALL").is_some()
}

/// Skip (printing why) unless CI requires the test.
pub fn skip(why: &str) {
    assert!(
        !required(),
        "required by CREDSHIM_TEST_REQUIRE_ALL but unavailable: {why}"
    );
    eprintln!("skipped: {why}");
}

/// The virtualenv with the real AWS CLI (`awscli` from PyPI, pinned) and the moto server, which
/// `.ci/aws-venv` creates apart from the python3 the other tests use. The one place tests find
/// `aws`, `moto_server` and a Python with botocore: `aws_venv_bin("aws")`.
pub const AWS_VENV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/target/aws-venv");

/// A program of [`AWS_VENV`], when the venv has it.
pub fn aws_venv_bin(name: &str) -> Option<PathBuf> {
    let p = Path::new(AWS_VENV).join("bin").join(name);
    p.is_file().then_some(p)
}

/// The path of `program` on `PATH`, when it is there.
pub fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}
