//! AWS credentials end to end (issue 15): the real AWS CLI (`awscli`, from `.ci/aws-venv`)
//! against a moto server. `[app]` of a shared credentials file is rotated three times with a
//! mint that is a real `aws sts assume-role`, while `[default]` holds the long-lived key the mint
//! itself signs with. After each rotation `aws --profile app sts get-caller-identity` must answer
//! as the assumed role, `aws configure get` must read back each minted value, and `[default]`
//! (with everything before `[app]`) must be byte-identical. Then the shipped job file
//! `contrib/examples/aws-credentials-profile.env` runs as it is, its mint pointed at moto by
//! `AWS_ENDPOINT_URL`. `~/.aws/config` says `output = text`, as a user's may: the mints ask
//! for `--output json` themselves.

use crate::harness::{BIN, aws_venv_bin, skip};
use serde_json::Value;
use std::fs;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The long-lived key of `[default]`, which must survive every rotation byte for byte.
const DEFAULT: &str = "# the deploy user's long-lived key\n[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n";

/// A moto server on a free port, killed when dropped.
pub(crate) struct Moto {
    child: Child,
    pub(crate) url: String,
}

impl Moto {
    /// Moto as it comes: any key is accepted, no signature is checked.
    fn start(bin: &Path, log: &Path) -> Moto {
        Moto::start_with(bin, log, &[])
    }

    /// Moto with `env` (`INITIAL_NO_AUTH_ACTION_COUNT`: after that many requests, every
    /// request must be signed by a key moto issued, with its secret).
    pub(crate) fn start_with(bin: &Path, log: &Path, env: &[(&str, &str)]) -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin)
            .envs(env.iter().copied())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(fs::File::create(log).unwrap())
            .stderr(fs::File::create(log.with_extension("err")).unwrap())
            .spawn()
            .expect("start moto_server");
        let moto = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The environment every `aws` here runs in: the test's files, moto's endpoint, nothing else.
pub(crate) fn aws_env(cmd: &mut Command, home: &Path, moto: &Moto) {
    cmd.env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin_dir().display()))
        .env("HOME", home)
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join(".aws/credentials"))
        .env("AWS_CONFIG_FILE", home.join(".aws/config"))
        .env("AWS_ENDPOINT_URL", &moto.url)
        .env("AWS_EC2_METADATA_DISABLED", "true");
}

pub(crate) fn bin_dir() -> PathBuf {
    aws_venv_bin("aws").unwrap().parent().unwrap().to_path_buf()
}

fn aws(home: &Path, moto: &Moto, args: &[&str]) -> Output {
    let mut cmd = Command::new(aws_venv_bin("aws").unwrap());
    aws_env(&mut cmd, home, moto);
    cmd.args(args).output().expect("run aws")
}

#[track_caller]
pub(crate) fn aws_ok(home: &Path, moto: &Moto, args: &[&str]) -> String {
    let out = aws(home, moto, args);
    assert!(
        out.status.success(),
        "aws {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn aws_profile_rotates_against_moto_with_the_real_cli() {
    let (Some(_), Some(moto_bin)) = (aws_venv_bin("aws"), aws_venv_bin("moto_server")) else {
        skip("no AWS CLI and moto_server in target/aws-venv (run .ci/aws-venv)");
        return;
    };
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let moto = Moto::start(&moto_bin, &home.join("moto.log"));
    fs::create_dir_all(home.join(".aws")).unwrap();
    let credentials = home.join(".aws/credentials");
    fs::write(&credentials, DEFAULT).unwrap();
    fs::write(
        home.join(".aws/config"),
        "[default]\nregion = us-east-1\noutput = text\n\n[profile app]\nregion = us-east-1\n",
    )
    .unwrap();
    aws_ok(
        home,
        &moto,
        &[
            "iam",
            "create-role",
            "--role-name",
            "app",
            "--assume-role-policy-document",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#,
        ],
    );
    // The mint: a real assume-role with [default]'s key; its output is kept to compare with.
    let mint = home.join("mint");
    fs::write(
        &mint,
        "#!/bin/sh\nset -e\nn=$(ls \"$HOME\"/mint-*.json 2>/dev/null | wc -l)\n\
         aws --profile default sts assume-role --role-arn arn:aws:iam::123456789012:role/app \
         --role-session-name credshim-app --output json > \"$HOME/mint-$n.json\"\n\
         cat \"$HOME/mint-$n.json\"\n",
    )
    .unwrap();
    fs::set_permissions(&mint, fs::Permissions::from_mode(0o755)).unwrap();

    let mut seen_keys = Vec::new();
    for round in 0..3 {
        let mut cmd = Command::new(BIN);
        aws_env(&mut cmd, home, &moto);
        let out = cmd
            .args(["rotate", "--target"])
            .arg(&credentials)
            .args([
                "--set",
                "/app/aws_access_key_id=/Credentials/AccessKeyId",
                "--set",
                "/app/aws_secret_access_key=/Credentials/SecretAccessKey",
                "--set",
                "/app/aws_session_token=/Credentials/SessionToken",
                "--expiry-from",
                "/Credentials/Expiration",
                "--",
            ])
            .arg(&mint)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "round {round}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty() && out.stderr.is_empty(), "not silent");
        let minted: Value = serde_json::from_str(
            &fs::read_to_string(home.join(format!("mint-{round}.json"))).unwrap(),
        )
        .unwrap();
        let text = fs::read_to_string(&credentials).unwrap();
        assert!(text.starts_with(DEFAULT), "[default] changed:\n{text}");
        for (key, field) in [
            ("aws_access_key_id", "AccessKeyId"),
            ("aws_secret_access_key", "SecretAccessKey"),
            ("aws_session_token", "SessionToken"),
        ] {
            let got = aws_ok(home, &moto, &["configure", "get", "--profile", "app", key]);
            assert_eq!(
                got.trim_end_matches('\n'),
                minted["Credentials"][field].as_str().unwrap(),
                "round {round}: aws configure get {key}"
            );
        }
        let who: Value = serde_json::from_str(&aws_ok(
            home,
            &moto,
            &[
                "--profile",
                "app",
                "sts",
                "get-caller-identity",
                "--output",
                "json",
            ],
        ))
        .unwrap();
        assert_eq!(
            who["Arn"], "arn:aws:sts::123456789012:assumed-role/app/credshim-app",
            "round {round}"
        );
        // [default] still works as itself.
        let me: Value = serde_json::from_str(&aws_ok(
            home,
            &moto,
            &["sts", "get-caller-identity", "--output", "json"],
        ))
        .unwrap();
        assert_eq!(me["Arn"], "arn:aws:sts::123456789012:user/moto");
        let key = minted["Credentials"]["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            !seen_keys.contains(&key),
            "round {round}: the same key again"
        );
        seen_keys.push(key);
    }
    let last = fs::read_to_string(&credentials).unwrap();

    // The shipped job file as it is, but for the target and the reload; its mint signs with the
    // same [default] (AWS_SHARED_CREDENTIALS_FILE wins over the job's HOME).
    let job = home.join("job.env");
    fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/examples/aws-credentials-profile.env"),
        &job,
    )
    .unwrap();
    fs::set_permissions(&job, fs::Permissions::from_mode(0o600)).unwrap();
    let mut cmd = Command::new(BIN);
    aws_env(&mut cmd, home, &moto);
    let out = cmd
        .args(["rotate", "--job"])
        .arg(&job)
        .arg("--target")
        .arg(&credentials)
        .args(["--reload", "echo reloaded >> \"$AWS_CONFIG_FILE.reload\""])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "the shipped job: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = fs::read_to_string(&credentials).unwrap();
    assert!(text.starts_with(DEFAULT), "[default] changed:\n{text}");
    assert_ne!(text, last, "the shipped job did not rotate");
    assert_eq!(
        fs::read_to_string(home.join(".aws/config.reload")).unwrap(),
        "reloaded\n"
    );
    let who: Value = serde_json::from_str(&aws_ok(
        home,
        &moto,
        &[
            "--profile",
            "app",
            "sts",
            "get-caller-identity",
            "--output",
            "json",
        ],
    ))
    .unwrap();
    assert_eq!(
        who["Arn"],
        "arn:aws:sts::123456789012:assumed-role/app/credshim-app"
    );
    eprintln!(
        "aws end to end: 4 rotations of [app] against moto, [default] byte-identical, in {:.1}s",
        started.elapsed().as_secs_f64()
    );
}
