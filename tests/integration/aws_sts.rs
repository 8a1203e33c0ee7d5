//! The shipped AWS job (`contrib/examples/aws-sts.env`: three keys and their expiry in a `.env`,
//! with its `aws sts get-caller-identity` probe) end to end against a moto server that checks
//! signatures: after its first four requests (the test's own setup) every request must be signed
//! by a key moto issued, with the right secret. The real AWS CLI mints (`aws sts assume-role`,
//! signed by a deploy user's key, with `output = text` in `~/.aws/config`); boto3 reads the keys
//! back from the written file and calls `get-caller-identity`; a second run is fresh; a probe
//! against a wrong endpoint, and a mint that prints a corrupted secret key, leave the old file.

use crate::aws_credentials::{Moto, aws_env, aws_ok, bin_dir};
use crate::harness::{BIN, aws_venv_bin, skip};
use serde_json::Value;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

const ROLE: &str = "arn:aws:sts::123456789012:assumed-role/app/credshim-app";

/// Moto with a deploy user allowed to assume the role `app`, and `home/.aws` holding that user's
/// key as `[default]`.
fn moto_with_a_deploy_user(moto_bin: &Path, home: &Path) -> Moto {
    // The four setup requests are the unsigned ones.
    let moto = Moto::start_with(
        moto_bin,
        &home.join("moto.log"),
        &[("INITIAL_NO_AUTH_ACTION_COUNT", "4")],
    );
    fs::create_dir_all(home.join(".aws")).unwrap();
    let creds = home.join(".aws/credentials");
    fs::write(
        &creds,
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = x\n",
    )
    .unwrap();
    fs::write(
        home.join(".aws/config"),
        "[default]\nregion = us-east-1\noutput = text\n",
    )
    .unwrap();
    aws_ok(
        home,
        &moto,
        &["iam", "create-user", "--user-name", "deploy"],
    );
    let key: Value = serde_json::from_str(&aws_ok(
        home,
        &moto,
        &[
            "iam",
            "create-access-key",
            "--user-name",
            "deploy",
            "--output",
            "json",
        ],
    ))
    .unwrap();
    aws_ok(
        home,
        &moto,
        &[
            "iam",
            "put-user-policy",
            "--user-name",
            "deploy",
            "--policy-name",
            "assume",
            "--policy-document",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#,
        ],
    );
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
    let key = &key["AccessKey"];
    fs::write(
        &creds,
        format!(
            "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            key["AccessKeyId"].as_str().unwrap(),
            key["SecretAccessKey"].as_str().unwrap()
        ),
    )
    .unwrap();
    moto
}

/// `credshim rotate --job JOB ARGS...` in the AWS environment, verbose (its lines are masked).
fn rotate(home: &Path, moto: &Moto, job: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    aws_env(&mut cmd, home, moto);
    cmd.env("AWS_MAX_ATTEMPTS", "1")
        .arg("rotate")
        .arg("--job")
        .arg(job)
        .args(["--target", "aws.env", "--output", "json", "-v"])
        .args(args)
        .current_dir(home)
        .output()
        .unwrap()
}

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
}

#[test]
fn the_shipped_aws_job_rotates_against_moto_with_signatures_checked() {
    let (Some(_), Some(moto_bin)) = (aws_venv_bin("aws"), aws_venv_bin("moto_server")) else {
        skip("no AWS CLI and moto_server in target/aws-venv (run .ci/aws-venv)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let moto = moto_with_a_deploy_user(&moto_bin, home);
    let job = home.join("job.env");
    fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/examples/aws-sts.env"),
        &job,
    )
    .unwrap();
    fs::set_permissions(&job, fs::Permissions::from_mode(0o600)).unwrap();
    let target = home.join("aws.env");
    fs::write(&target, "APP=1\n").unwrap();
    let reload = "echo reloaded >> \"$AWS_CONFIG_FILE.reload\"";
    let mut transcript = Vec::new();

    // 1. Mint, probe, write, reload.
    let out = rotate(home, &moto, &job, &["--reload", reload]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let r = report(&out);
    assert_eq!(
        (&r["outcome"], &r["probe_attempts"]),
        (&"rotated".into(), &1.into()),
        "{r}"
    );
    transcript.push(stderr);
    let written = fs::read_to_string(&target).unwrap();
    let get = |k: &str| {
        written
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("no {k} in the target"))
            .to_string()
    };
    assert!(get("AWS_ACCESS_KEY_ID").starts_with("ASIA"));
    assert!(get("AWS_CREDENTIAL_EXPIRATION").ends_with('Z'));
    assert!(written.starts_with("APP=1\n"));
    for secret in ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] {
        let v = get(secret);
        assert!(
            !transcript[0].contains(&v) && !r.to_string().contains(&v),
            "{secret} shown"
        );
    }
    // boto3, from the written file alone, signing with its keys.
    let boto = Command::new(bin_dir().join("python"))
        .args([
            "-c",
            "import boto3, sys\n\
             kv = dict(l.split('=', 1) for l in open(sys.argv[1]).read().splitlines() if '=' in l)\n\
             sts = boto3.client('sts', endpoint_url=sys.argv[2], region_name='us-east-1',\n\
                 aws_access_key_id=kv['AWS_ACCESS_KEY_ID'],\n\
                 aws_secret_access_key=kv['AWS_SECRET_ACCESS_KEY'],\n\
                 aws_session_token=kv['AWS_SESSION_TOKEN'])\n\
             print(sts.get_caller_identity()['Arn'])",
        ])
        .arg(&target)
        .arg(&moto.url)
        .env_clear()
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert!(
        boto.status.success(),
        "{}",
        String::from_utf8_lossy(&boto.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&boto.stdout).trim(), ROLE);

    // 2. The timer's next run: fresh (--min-ttl 15m of a 1-hour session), nothing minted.
    let out = rotate(home, &moto, &job, &["--reload", reload]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(report(&out)["outcome"], "fresh");
    transcript.push(String::from_utf8_lossy(&out.stderr).into_owned());
    assert_eq!(fs::read_to_string(&target).unwrap(), written);

    // 3. A probe that cannot reach AWS keeps the old file (--min-ttl 2h makes it mint).
    let out = rotate(
        home,
        &moto,
        &job,
        &[
            "--min-ttl",
            "2h",
            "--retries",
            "0",
            "--probe",
            "set -a; . \"$CREDSHIM_CANDIDATE\"; aws --endpoint-url http://127.0.0.1:9 sts get-caller-identity",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(69), "{stderr}");
    assert_eq!(fs::read_to_string(&target).unwrap(), written);
    transcript.push(stderr);

    // 4. A mint whose secret key is corrupted: moto refuses its signature, the probe fails on
    //    both tries, the mint ran once, the old file stays.
    let corrupt = home.join("corrupt-mint");
    fs::write(
        &corrupt,
        "#!/bin/sh\necho minted >> \"$AWS_CONFIG_FILE.mints\"\n\
         aws sts assume-role --role-arn arn:aws:iam::123456789012:role/app \
         --role-session-name credshim-app --output json | \
         sed 's/\"SecretAccessKey\": \"/&X/'\n",
    )
    .unwrap();
    fs::set_permissions(&corrupt, fs::Permissions::from_mode(0o755)).unwrap();
    // --mint replaces the job file's CREDSHIM_MINT (the command line wins).
    let mint = corrupt.to_str().unwrap();
    let out = rotate(
        home,
        &moto,
        &job,
        &["--min-ttl", "2h", "--retries", "1", "--mint", mint],
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(69), "{stderr}");
    assert!(stderr.contains("SignatureDoesNotMatch"), "{stderr}");
    assert_eq!(report(&out)["probe_attempts"], 2);
    assert_eq!(
        fs::read_to_string(home.join(".aws/config.mints")).unwrap(),
        "minted\n"
    );
    assert_eq!(fs::read_to_string(&target).unwrap(), written);
    assert_eq!(
        fs::read_to_string(home.join(".aws/config.reload")).unwrap(),
        "reloaded\n"
    );
    transcript.push(stderr);
    eprintln!(
        "aws-sts.env against moto, transcript:\n{}",
        transcript.join("---\n")
    );
}
