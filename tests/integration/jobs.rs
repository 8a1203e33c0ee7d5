//! `--job FILE`: a whole job read by credshim itself (DESIGN.md "Job files").

use crate::harness::Test;
use std::os::unix::fs::PermissionsExt;

const JOB: &str = "\
# the whole job
CREDSHIM_TARGET=app.env
CREDSHIM_SET=TOKEN
CREDSHIM_MINT='printf %s \"tok-$DATABRICKS_HOST\"'
CREDSHIM_RELOAD='echo reloaded >> log'
DATABRICKS_HOST=example.cloud
";

#[test]
fn a_job_file_runs_the_whole_job_and_feeds_the_children() {
    Test::new()
        .file("app.env", "TOKEN=old\n")
        .file("job.env", JOB)
        .args(["--job", "job.env"])
        .run()
        .status(0)
        .file_is("app.env", "TOKEN=tok-example.cloud\n")
        .file_is("log", "reloaded\n");
}

#[test]
fn the_command_line_wins_over_the_job_file_which_wins_over_the_environment() {
    Test::new()
        .file("app.env", "TOKEN=old\nOTHER=old\n")
        .file("job.env", JOB)
        // The environment says OTHER; the job file says TOKEN: the job file wins.
        .env("CREDSHIM_SET", "OTHER")
        // The command line says another reload: it wins.
        .args(["--job", "job.env", "--reload", "echo from-flag >> log"])
        .run()
        .status(0)
        .file_is("app.env", "TOKEN=tok-example.cloud\nOTHER=old\n")
        .file_is("log", "from-flag\n");
}

#[test]
fn lines_sh_and_systemd_read_differently_are_65_with_the_line_number() {
    Test::new()
        .file("app.env", "TOKEN=old\n")
        .file(
            "job.env",
            &format!("{JOB}CREDSHIM_MIN_TTL=15m   # refresh early\n"),
        )
        .args(["--job", "job.env"])
        .run()
        .status(65)
        .stderr_has("line 7: CREDSHIM_MIN_TTL: an unquoted space")
        .file_is("app.env", "TOKEN=old\n")
        .file_is("log", "");
}

#[test]
fn an_unknown_credshim_name_is_78() {
    Test::new()
        .file("app.env", "TOKEN=old\n")
        .file("job.env", &format!("{JOB}CREDSHIM_MIN_TLL=15m\n"))
        .args(["--job", "job.env"])
        .run()
        .status(78)
        .stderr_has("line 7: unknown setting CREDSHIM_MIN_TLL")
        .file_is("app.env", "TOKEN=old\n");
}

#[test]
fn a_job_file_others_can_write_is_77() {
    let t = Test::new()
        .file("app.env", "TOKEN=old\n")
        .file("job.env", JOB)
        .args(["--job", "job.env"]);
    std::fs::set_permissions(t.path("job.env"), std::fs::Permissions::from_mode(0o666)).unwrap();
    t.run()
        .status(77)
        .stderr_has("writable by others")
        .file_is("app.env", "TOKEN=old\n");
}

#[test]
fn check_reads_its_target_and_key_from_the_job_file() {
    Test::bare()
        .arg("check")
        .file(
            "app.env",
            "TOKEN=opaque\nTOKEN_EXPIRES_AT=2999-01-01T00:00:00Z\n",
        )
        .file(
            "job.env",
            "CREDSHIM_TARGET=app.env\nCREDSHIM_KEY=TOKEN\nCREDSHIM_EXPIRY_KEY=TOKEN_EXPIRES_AT\n",
        )
        .args(["--job", "job.env"])
        .run()
        .status(0)
        .stdout_has("CREDSHIM OK");
}

#[test]
fn check_takes_its_keys_from_the_jobs_set_line() {
    // The shipped job files name no CREDSHIM_KEY: the first key from the mint is the credential,
    // the @expiry one its expiry.
    Test::bare()
        .arg("check")
        .file(
            "app.env",
            "TOKEN=opaque\nTOKEN_EXPIRES_AT=2999-01-01T00:00:00Z\n",
        )
        .file(
            "job.env",
            "CREDSHIM_TARGET=app.env\nCREDSHIM_SET=TOKEN_EXPIRES_AT=@expiry,TOKEN=/token\n",
        )
        .args(["--job", "job.env"])
        .run()
        .status(0)
        .stdout_has("CREDSHIM OK - TOKEN expires in");
}

#[test]
fn a_missing_required_flag_is_named_on_the_one_usage_line() {
    Test::bare()
        .args(["check", "--key", "K"])
        .run()
        .status(64)
        .stderr_has("usage: the following required arguments were not provided: --target <PATH>");
}
