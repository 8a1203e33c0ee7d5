//! The generated files: the man page credshim(1) and the bash, zsh and fish completions, all
//! rendered from the one clap definition (`credshim::cli::Cli`) and committed under `packaging/` so
//! that packages can ship them without building anything.
//!
//! `committed_generated_files_are_current` renders everything in memory and fails when a committed
//! copy differs. With `CREDSHIM_UPDATE_GENERATED=1` it rewrites the stale files instead:
//!
//! ```sh
//! CREDSHIM_UPDATE_GENERATED=1 cargo test --test integration generated::
//! ```

use crate::harness::{Test, log_line};
use clap::{Arg, Command, CommandFactory};
use clap_complete::Shell;
use clap_mangen::Man;
use clap_mangen::roff::{Inline, Roff, bold, italic, roman};
use credshim::check::State;
use credshim::cli::Cli;
use credshim::error::EXIT_CODES;
use std::path::{Path, PathBuf};

/// The variable that turns the staleness check into a regeneration.
const UPDATE: &str = "CREDSHIM_UPDATE_GENERATED";

/// Where each generated file is committed, relative to the crate root, and its content.
fn generated() -> Vec<(&'static str, String)> {
    vec![
        ("packaging/man/credshim.1", man_page()),
        (
            "packaging/completions/credshim.bash",
            completion(Shell::Bash),
        ),
        ("packaging/completions/_credshim", completion(Shell::Zsh)),
        (
            "packaging/completions/credshim.fish",
            completion(Shell::Fish),
        ),
    ]
}

fn command() -> Command {
    let mut cmd = Cli::command();
    cmd.build();
    cmd
}

fn completion(shell: Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command(), "credshim", &mut out);
    String::from_utf8(out).expect("completions are UTF-8")
}

/// Roff text of a `Man` section renderer, without the apostrophe preamble that each one repeats.
fn section(render: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    render(&mut out).expect("rendering to memory cannot fail");
    let text = String::from_utf8(out).expect("roff is UTF-8");
    text.strip_prefix(PREAMBLE).unwrap_or(&text).to_string()
}

/// What `roff` puts before every rendering.
const PREAMBLE: &str = ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";

/// Render a `Roff` built here, without its preamble.
fn roff(r: &Roff) -> String {
    section(|w| r.to_writer(w))
}

/// credshim(1): clap_mangen's NAME, SYNOPSIS, DESCRIPTION and OPTIONS, then one section per
/// subcommand with its own synopsis and options, then EXIT STATUS, ENVIRONMENT, FILES, EXAMPLES.
fn man_page() -> String {
    let cmd = command();
    let man = Man::new(cmd.clone()).manual("credshim manual");
    let mut page = PREAMBLE.to_string();
    page.push_str(&section(|w| man.render_title(w)));
    page.push_str(&section(|w| man.render_name_section(w)));
    page.push_str(&section(|w| man.render_synopsis_section(w)));
    page.push_str(&section(|w| man.render_description_section(w)));
    page.push_str(&roff(&description()));
    page.push_str(&section(|w| man.render_options_section(w)));
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        page.push_str(&subcommand_section(sub));
    }
    page.push_str(&roff(&exit_status()));
    page.push_str(&roff(&environment(&cmd)));
    page.push_str(&roff(&files()));
    page.push_str(&roff(&examples()));
    page.push_str(&roff(&see_also()));
    page.push_str(&section(|w| man.render_version_section(w)));
    page
}

/// `.SH "CREDSHIM ROTATE"` with the subcommand's synopsis, long about and options (`.SS`).
fn subcommand_section(sub: &Command) -> String {
    let name = format!("credshim {}", sub.get_name());
    let man = Man::new(sub.clone().bin_name(&name));
    let synopsis = section(|w| man.render_synopsis_section(w));
    let description = section(|w| man.render_description_section(w));
    let options = section(|w| man.render_options_section(w));
    let heading = format!(".SH \"{}\"\n", name.to_uppercase());
    let mut out = synopsis.replacen(".SH SYNOPSIS\n", &heading, 1);
    out.push_str(".PP\n");
    out.push_str(description.trim_start_matches(".SH DESCRIPTION\n"));
    out.push_str(&options.replacen(".SH OPTIONS\n", ".SS Options\n", 1));
    out
}

/// A `.TP` paragraph: a bold tag line, then text.
fn tagged(r: &mut Roff, tag: impl Into<Vec<Inline>>, text: impl Into<Vec<Inline>>) {
    r.control("TP", []);
    r.text(tag);
    r.text(text);
}

fn paragraph(r: &mut Roff, text: impl Into<Vec<Inline>>) {
    r.control("PP", []);
    r.text(text);
}

fn description() -> Roff {
    let mut r = Roff::new();
    paragraph(
        &mut r,
        [roman(
            "Each run of credshim rotate is one shot: it takes a lock beside the target file, mints \
             one credential by running a command, splices the new value(s) into the file touching \
             nothing else, writes it atomically (temp file, fsync, rename, fsync of the \
             directory), runs the reload command only when the file changed, and exits with a \
             documented code. Run it from cron or a systemd timer every few minutes and let \
             --min-ttl decide when to mint.",
        )],
    );
    paragraph(
        &mut r,
        [roman(
            "Success is silent; a failure prints one line on standard error, \
             \"credshim: <what failed>: <why>\". Values are never shown, only their length and a \
             SHA-256 fingerprint; the mint's standard output is never logged.",
        )],
    );
    r
}

/// EXIT STATUS: the table of `credshim::error::EXIT_CODES` (what `--help` shows), then `check`'s.
fn exit_status() -> Roff {
    let mut r = Roff::new();
    r.control("SH", ["EXIT STATUS"]);
    r.text([roman("credshim rotate:")]);
    for (code, name, meaning) in exit_codes() {
        tagged(
            &mut r,
            [bold(code), roman(" "), roman(name)],
            [roman(meaning)],
        );
    }
    paragraph(
        &mut r,
        [roman(
            "credshim check (Nagios/Icinga plugin convention; a malformed command line is 64):",
        )],
    );
    let check = [
        (State::Ok, "OK", "more than --warn left"),
        (State::Warning, "WARNING", "less than --warn left"),
        (
            State::Critical,
            "CRITICAL",
            "less than --crit left, expired, or the key or the file is missing",
        ),
        (
            State::Unknown,
            "UNKNOWN",
            "no expiry can be known, the file cannot be read or parsed, or --crit exceeds --warn",
        ),
    ];
    for (state, name, meaning) in check {
        tagged(
            &mut r,
            [bold((state as u8).to_string()), roman(" "), roman(name)],
            [roman(meaning)],
        );
    }
    r
}

/// The rows of `EXIT_CODES`, the table `--help` shows too.
fn exit_codes() -> Vec<(String, String, String)> {
    EXIT_CODES
        .iter()
        .map(|(code, name, when)| (code.to_string(), name.to_string(), when.to_string()))
        .collect()
}

/// ENVIRONMENT: every `CREDSHIM_*` variable that an option reads, found by walking the clap
/// definition, then the variables credshim reads itself.
fn environment(cmd: &Command) -> Roff {
    let mut r = Roff::new();
    r.control("SH", ["ENVIRONMENT"]);
    r.text([roman(
        "Every option of rotate and check also reads an environment variable, and --job FILE \
         reads the same names from a job file (one /etc/credshim/<job>.env per job), with \
         credshim's own reader: a line that sh and systemd would read differently is refused \
         (65) with its line number, an unknown CREDSHIM_ name is 78, and the file must belong \
         to root or the running user and be writable by no one else (77). A flag on the \
         command line wins over the job file, which wins over the environment. A switch (--create, --dry-run, ...) reads \
         true or false; leave a variable out rather than empty it (an empty value is an \
         error).",
    )]);
    let mut vars: Vec<(String, Vec<String>, String)> = Vec::new();
    for sub in cmd.get_subcommands() {
        for arg in sub.get_arguments() {
            let Some(env) = arg.get_env().and_then(|e| e.to_str()) else {
                continue;
            };
            match vars.iter_mut().find(|(name, _, _)| name == env) {
                Some((_, users, _)) => users.push(sub.get_name().to_string()),
                None => vars.push((
                    env.to_string(),
                    vec![sub.get_name().to_string()],
                    env_help(arg),
                )),
            }
        }
    }
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, users, help) in vars {
        tagged(
            &mut r,
            [bold(name)],
            [roman(format!("{help} ({}).", users.join(", ")))],
        );
    }
    tagged(
        &mut r,
        [bold("JOURNAL_STREAM")],
        [roman(
            "Set by systemd when standard error goes to the journal. credshim then starts each \
             log line with its syslog priority (<3> error, <4> warning, ...) and no timestamp, so \
             the journal records levels.",
        )],
    );
    tagged(
        &mut r,
        [bold("RUST_LOG")],
        [roman(
            "Not used: the log level is set with -v and -q only, so a variable inherited from \
             the environment cannot make a job log more (or less) than its command line says.",
        )],
    );
    paragraph(
        &mut r,
        [roman(
            "The mint and reload commands inherit credshim's environment (with standard input \
             from /dev/null), so variables such as VAULT_ADDR, AWS_PROFILE or HOME set in a job \
             file reach them.",
        )],
    );
    r
}

/// The help of an option as a sentence fragment for ENVIRONMENT: `--ttl: Declared lifetime ...`.
fn env_help(arg: &Arg) -> String {
    let help = arg
        .get_help()
        .map(ToString::to_string)
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let flag = arg
        .get_long()
        .map_or_else(|| arg.get_id().to_string(), |l| format!("--{l}"));
    let mut text = format!("{flag}: {}", help.trim_end_matches('.'));
    if arg.get_long() == Some("set") {
        text.push_str("; a JSON pointer in the variable cannot contain a comma");
    }
    if arg.get_long() == Some("mint") {
        text.push_str(
            "; it is run with /bin/sh -c, so a job file needs no words after -- and ExecStart= \
             needs no arguments",
        );
    }
    text
}

fn files() -> Roff {
    let mut r = Roff::new();
    r.control("SH", ["FILES"]);
    let rows = [
        (
            "/etc/credshim/<job>.env",
            "One job: CREDSHIM_* variables read with --job by credshim@<job>.service and by \
             the cron lines; other variables in it reach the mint and the reload. The package installs \
             /etc/credshim/example.env; examples for each provider are in \
             /usr/share/doc/credshim/examples/.",
        ),
        (
            "<dir>/.<name>.credshim.lock",
            "The lock beside the target <dir>/<name> (flock(2)), resolved from the real path, \
             never deleted. A target named .env gives ..env.credshim.lock.",
        ),
        (
            "<dir>/.<name>.credshim.*.tmp",
            "The temp file while the new content is written (mode 0600 from its creation); \
             renamed over the target, or removed. One orphaned by a crash is removed by the next \
             run under the lock.",
        ),
        (
            "<dir>/.<name>.credshim.reload-pending",
            "Left when the reload failed (exit 79): the next run reloads even when nothing \
             changed.",
        ),
        (
            "/lib/systemd/system/credshim@.service, credshim@.timer",
            "The systemd template units: one instance per job.",
        ),
    ];
    for (path, text) in rows {
        tagged(&mut r, [italic(path)], [roman(text)]);
    }
    paragraph(
        &mut r,
        [roman(
            "The directory of the target must be writable by credshim: the lock, temp file and \
             marker live there, and the target is replaced by rename.",
        )],
    );
    r
}

fn examples() -> Roff {
    let mut r = Roff::new();
    r.control("SH", ["EXAMPLES"]);
    let examples = [
        (
            "A Databricks Lakebase token for a Backstage .env, minted when less than 15 minutes \
             are left:",
            "credshim rotate --target /srv/backstage/.env \\\n  --set DATABRICKS_TOKEN=/token \
             --set DATABRICKS_TOKEN_EXPIRES_AT=@expiry \\\n  --expiry-from /expire_time \
             --min-ttl 15m \\\n  --reload 'systemctl restart backstage' \\\n  -- databricks \
             postgres generate-database-credential projects/p/branches/b/endpoints/e -o json",
        ),
        (
            "AWS STS: three keys from one mint:",
            "credshim rotate --target /etc/app/aws.env \\\n  --set \
             AWS_ACCESS_KEY_ID=/Credentials/AccessKeyId \\\n  --set \
             AWS_SECRET_ACCESS_KEY=/Credentials/SecretAccessKey \\\n  --set \
             AWS_SESSION_TOKEN=/Credentials/SessionToken \\\n  --expiry-from \
             /Credentials/Expiration --min-ttl 15m \\\n  -- aws sts assume-role --role-arn \
             arn:aws:iam::123456789012:role/app --role-session-name app",
        ),
        (
            "An opaque token printed on standard output, with a declared lifetime:",
            "credshim rotate --target .env --set GCP_TOKEN --set GCP_TOKEN_EXPIRES_AT=@expiry \
             \\\n  --ttl 55m -- gcloud auth print-access-token",
        ),
        (
            "Show what would change, values masked, without writing or reloading:",
            "credshim rotate --dry-run --target /srv/backstage/.env --set \
             DATABRICKS_TOKEN=/token -- ./mint.sh",
        ),
        (
            "The same job from a job file, as credshim@backstage.service runs it:",
            "systemctl enable --now credshim@backstage.timer\ncredshim rotate --job \
             /etc/credshim/backstage.env",
        ),
        (
            "Monitoring from Nagios or Icinga (WARNING: a rotation is overdue):",
            "credshim check --job /etc/credshim/backstage.env --warn 5m --crit 2m",
        ),
    ];
    for (text, code) in examples {
        paragraph(&mut r, [roman(text)]);
        r.control("RS", ["4"]);
        r.control("nf", []);
        for line in code.lines() {
            r.text([roman(line)]);
        }
        r.control("fi", []);
        r.control("RE", []);
    }
    r
}

fn see_also() -> Roff {
    let mut r = Roff::new();
    r.control("SH", ["SEE ALSO"]);
    r.text([roman(
        "systemd.exec(5), systemd.timer(5), crontab(5), flock(2); \
         /usr/share/doc/credshim/README.md",
    )]);
    r
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Compare `want` with the committed file at `rel`; rewrite it when updating. Returns the
/// complaint for a stale file.
fn check_or_update(rel: &str, want: &str, update: bool) -> Option<String> {
    let path = root().join(rel);
    let have = std::fs::read_to_string(&path).ok();
    if have.as_deref() == Some(want) {
        return None;
    }
    if update {
        write(&path, want);
        eprintln!("regenerated {rel}");
        return None;
    }
    Some(match have {
        None => format!("{rel} is missing"),
        Some(have) => format!("{rel} is stale ({})", first_difference(&have, want)),
    })
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

fn first_difference(have: &str, want: &str) -> String {
    let mut have_lines = have.lines();
    for (n, line) in want.lines().enumerate() {
        match have_lines.next() {
            Some(h) if h == line => {}
            Some(h) => return format!("line {}: committed {h:?}, generated {line:?}", n + 1),
            None => return format!("line {}: committed file ends, generated {line:?}", n + 1),
        }
    }
    match have_lines.next() {
        Some(extra) => format!("committed file has more lines: {extra:?}"),
        None => "line endings or the final newline differ".to_string(),
    }
}

#[test]
fn committed_generated_files_are_current() {
    let update = std::env::var_os(UPDATE).is_some_and(|v| v == "1");
    let stale: Vec<String> = generated()
        .iter()
        .filter_map(|(rel, want)| check_or_update(rel, want, update))
        .collect();
    assert!(
        stale.is_empty(),
        "{}\nregenerate with: {UPDATE}=1 cargo test --test integration generated::",
        stale.join("\n")
    );
}

#[test]
fn man_page_has_every_section_and_every_variable() {
    let page = man_page();
    // Without the preamble, man dropped every apostrophe (`'systemctl restart backstage'`).
    assert!(
        page.starts_with(PREAMBLE),
        "the apostrophe preamble is missing"
    );
    assert_eq!(
        page.matches(PREAMBLE).count(),
        1,
        "the preamble is repeated"
    );
    for heading in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH OPTIONS",
        ".SH \"CREDSHIM ROTATE\"",
        ".SH \"CREDSHIM CHECK\"",
        ".SH \"EXIT STATUS\"",
        ".SH ENVIRONMENT",
        ".SH FILES",
        ".SH EXAMPLES",
    ] {
        assert!(page.contains(heading), "no {heading} in the man page");
    }
    for code in ["64", "75", "79"] {
        assert!(
            page.contains(&format!("\\fB{code}\\fR")),
            "exit code {code} missing"
        );
    }
    let cmd = command();
    for arg in cmd.get_subcommands().flat_map(Command::get_arguments) {
        if let Some(env) = arg.get_env().and_then(|e| e.to_str()) {
            assert!(
                page.contains(&format!("\\fB{env}\\fR")),
                "{env} missing from ENVIRONMENT"
            );
        }
    }
}

#[test]
fn completions_know_every_long_flag() {
    let cmd = command();
    let longs: Vec<&str> = cmd
        .get_subcommands()
        .flat_map(Command::get_arguments)
        .filter_map(Arg::get_long)
        .collect();
    assert!(longs.contains(&"min-ttl"), "walked no rotate flags");
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let script = completion(shell);
        for long in &longs {
            assert!(
                script.contains(&format!("--{long}")) || script.contains(&format!("-l {long}")),
                "{shell} completion lacks --{long}"
            );
        }
    }
}

/// A job file of `contrib/examples/`: its `NAME=value` lines, quotes removed, as systemd's
/// `EnvironmentFile=` and sh's `.` read them.
fn job_file(name: &str) -> Vec<(String, String)> {
    let path = root().join("contrib/examples").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or_else(|| panic!("{name}: {l:?}"));
            // Single quotes: literal to sh and to systemd alike.
            if let Some(v) = v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
                assert!(!v.contains('\''), "{name}: {k}");
                return (k.to_string(), v.to_string());
            }
            assert!(
                !v.contains(['$', '\\', '`']),
                "{name}: {k} would read differently in systemd and sh"
            );
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// Stand-ins for the tools the example probes call, on PATH: each logs `probe-<tool>` only when
/// it was given the canned credential the way the example says (environment, stdin).
const FAKE_TOOLS: [(&str, &str); 3] = [
    (
        "aws",
        "case \"$*\" in\n\
         'sts get-caller-identity') [ \"$AWS_ACCESS_KEY_ID\" = ASIAEXAMPLE ] && \
         [ \"$AWS_SECRET_ACCESS_KEY\" = example-secret ] && \
         [ \"$AWS_SESSION_TOKEN\" = example-session ] ;;\n\
         '--profile app sts get-caller-identity') \
         grep -qx 'aws_access_key_id = ASIAEXAMPLE' \"$AWS_SHARED_CREDENTIALS_FILE\" ;;\n\
         *) false ;;\nesac && echo probe-aws >> \"$TEST_DIR/log\"",
    ),
    (
        "psql",
        "[ \"$PGPASSWORD\" = example-password ] && case \" $* \" in *' -U v-app-example '*) ;; \
         *) exit 1;; esac && echo probe-psql >> \"$TEST_DIR/log\"",
    ),
    (
        "curl",
        "[ \"$(cat)\" = ya29.example-opaque-token ] && echo probe-curl >> \"$TEST_DIR/log\"",
    ),
];

/// A JWT (unsigned, as credshim does not check signatures) that expires at `exp`.
fn jwt(exp: i64) -> String {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.{}",
        b64(r#"{"alg":"RS256","typ":"JWT"}"#),
        b64(&format!(r#"{{"sub":"example","exp":{exp}}}"#)),
        b64("signature")
    )
}

#[test]
fn every_example_job_runs_as_the_unit_runs_it() {
    // Each example job file, with its mint replaced by the provider's documented output shape:
    // `credshim rotate` with no arguments (the unit's ExecStart) must rotate, reload once, and
    // (with CREDSHIM_MIN_TTL) find the credential fresh on the next run. A renamed flag, a
    // misspelt pointer or a bad CREDSHIM_SET in an example fails here.
    let now = jiff::Timestamp::now();
    let in_1h = now + jiff::SignedDuration::from_hours(1);
    let exp = in_1h.as_second();
    let token = jwt(exp);
    let cases: [(&str, String, &[&str]); 12] = [
        (
            "aws-credentials-profile.env",
            format!(
                r#"{{"Credentials":{{"AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"example/secret+","SessionToken":"example-session==","Expiration":"{}"}}}}"#,
                in_1h.strftime("%Y-%m-%dT%H:%M:%S+00:00")
            ),
            &[
                "[app]",
                "aws_access_key_id = ASIAEXAMPLE",
                "aws_secret_access_key = example/secret+",
                "aws_session_token = example-session==",
            ],
        ),
        (
            "backstage-app-config.env",
            format!(
                r#"{{"expire_time":"{}","token":"{token}"}}"#,
                in_1h.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
            ),
            &["password: eyJ"],
        ),
        (
            "lakebase-backstage.env",
            format!(
                r#"{{"expire_time":"{}","token":"{token}"}}"#,
                in_1h.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
            ),
            &["DATABRICKS_TOKEN=", "DATABRICKS_TOKEN_EXPIRES_AT="],
        ),
        (
            "aws-sts.env",
            format!(
                r#"{{"Credentials":{{"AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"example-secret","SessionToken":"example-session","Expiration":"{}"}}}}"#,
                in_1h.strftime("%Y-%m-%dT%H:%M:%S+00:00")
            ),
            &[
                "AWS_ACCESS_KEY_ID=ASIAEXAMPLE",
                "AWS_SECRET_ACCESS_KEY=example-secret",
                "AWS_SESSION_TOKEN=example-session",
                "AWS_CREDENTIAL_EXPIRATION=",
            ],
        ),
        (
            "gcp-access-token.env",
            "ya29.example-opaque-token\n".to_string(),
            &[
                "GOOGLE_OAUTH_ACCESS_TOKEN=ya29.example-opaque-token",
                "GOOGLE_OAUTH_ACCESS_TOKEN_EXPIRES_AT=",
            ],
        ),
        (
            "azure-access-token.env",
            format!(
                r#"{{"accessToken":"{token}","expiresOn":"2026-08-21 15:46:32.000000","expires_on":{exp},"tokenType":"Bearer"}}"#
            ),
            &["PGPASSWORD=", "PGPASSWORD_EXPIRES_AT="],
        ),
        (
            "vault-database.env",
            r#"{"lease_id":"database/creds/app/x","lease_duration":3600,"renewable":true,"data":{"password":"example-password","username":"v-app-example"}}"#
                .to_string(),
            &[
                "DB_USERNAME=v-app-example",
                "DB_PASSWORD=example-password",
                "DB_CREDENTIALS_EXPIRE_AT=",
            ],
        ),
        ("kubernetes-token.env", format!("{token}\n"), &["KUBE_TOKEN="]),
        (
            "spring-boot-properties.env",
            r#"{"lease_id":"database/creds/app/x","lease_duration":3600,"renewable":true,"data":{"password":"example-password","username":"v-app-example"}}"#
                .to_string(),
            &[
                "spring.datasource.username=v-app-example",
                "spring.datasource.password=example-password",
                "credshim.expires-at=",
            ],
        ),
        (
            "pgpass-lakebase.env",
            format!(
                r#"{{"expire_time":"{}","token":"{token}"}}"#,
                in_1h.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
            ),
            &["instance-0123.database.cloud.databricks.com:5432:databricks_postgres:app-service-principal:eyJ"],
        ),
        (
            "toml-config.env",
            format!(
                r#"{{"expire_time":"{}","token":"{token}"}}"#,
                in_1h.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
            ),
            &[
                "password = \"eyJ",
                "password_expires_at = \"",
            ],
        ),
        (
            "raw-password-file.env",
            r#"{"last_vault_rotation":"2026-08-21T12:46:32Z","password":"example-password","rotation_period":86400,"ttl":3412,"username":"app"}"#
                .to_string(),
            &[],
        ),
    ];
    for (name, output, expected) in cases {
        let vars = job_file(name);
        let get = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let raw = get("CREDSHIM_FORMAT") == Some("raw");
        // libpq rereads its password file for every connection: a pgpass job needs no reload.
        let pgpass = get("CREDSHIM_FORMAT") == Some("pgpass");
        let reload: &[&str] = if pgpass { &[] } else { &["reload"] };
        // A TOML target starts with its table, a YAML one with the mappings on the way to the key
        // (the key itself is added), a pgpass one with a comment; the others with a line that
        // .env and .properties read alike.
        let ends = |ext: &str| get("CREDSHIM_TARGET").is_some_and(|t| t.ends_with(ext));
        let first = if ends("/credentials") {
            "[default]\naws_access_key_id = AKIAEXAMPLE\n"
        } else if ends(".toml") {
            "[database]\n"
        } else if ends(".yaml") {
            "app:\n  title: example\nbackend:\n  database:\n    connection:\n      user: app\n"
        } else if pgpass {
            "# the app's database\n"
        } else {
            "APP_NAME=example\n"
        };
        assert!(get("CREDSHIM_MINT").is_some(), "{name}: no CREDSHIM_MINT");
        assert_eq!(
            get("CREDSHIM_RELOAD").is_some(),
            !pgpass,
            "{name}: CREDSHIM_RELOAD"
        );
        let mut t = Test::new().file("mint.out", &output).script(
            "mint",
            &format!("{}\ncat \"$TEST_DIR/mint.out\"", log_line("mint")),
        );
        // The example's own file name (its extension may choose the format).
        let target = Path::new(get("CREDSHIM_TARGET").expect("CREDSHIM_TARGET"))
            .file_name()
            .expect("a file name")
            .to_string_lossy()
            .into_owned();
        if !raw {
            t = t.file(&target, first);
        }
        if pgpass {
            // libpq ignores a password file that group or others can read (credshim warns).
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::Permissions::from_mode(0o600);
            std::fs::set_permissions(t.path(&target), mode).unwrap();
        }
        for (tool, body) in FAKE_TOOLS {
            t = t.script(&format!("bin/{tool}"), body);
        }
        let path = format!(
            "{}:{}",
            t.path("bin").display(),
            std::env::var("PATH").unwrap()
        );
        for (k, v) in &vars {
            t = t.env(k, v);
        }
        let mut t = t
            .env("PATH", &path)
            .env("CREDSHIM_TARGET", &target)
            .env("CREDSHIM_MINT", "./mint");
        if !pgpass {
            t = t.env("CREDSHIM_RELOAD", &log_line("reload"));
        }
        let done = t.run();
        assert_eq!(done.code, Some(0), "{name}: {}", done.stderr);
        let probe = get("CREDSHIM_PROBE").map(|p| {
            let tool = FAKE_TOOLS
                .iter()
                .find(|(tool, _)| p.contains(&format!(" {tool} ")));
            format!("probe-{}", tool.expect("a probe of a known tool").0)
        });
        let first_log: Vec<&str> = ["mint"]
            .into_iter()
            .chain(probe.as_deref())
            .chain(reload.iter().copied())
            .collect();
        assert_eq!(done.log(), first_log, "{name}: {}", done.stderr);
        let written = done.read(&target);
        if raw {
            assert_eq!(written, "example-password", "{name}");
        } else {
            assert!(written.starts_with(first), "{name}: {written}");
            for line in expected {
                assert!(
                    written.lines().any(|l| l.trim_start().starts_with(line)),
                    "{name}: no {line:?} in\n{written}"
                );
            }
        }
        // The next run, as the timer makes it 5 minutes later.
        let again = done.again().run();
        assert_eq!(again.code, Some(0), "{name}: {}", again.stderr);
        let mut expected_log = first_log.clone();
        if get("CREDSHIM_MIN_TTL").is_none() {
            expected_log.push("mint"); // minted, unchanged: no probe, no reload
        } // else fresh: no mint
        assert_eq!(again.log(), expected_log, "{name}: {}", again.stderr);
    }
}

#[test]
fn every_example_job_file_is_tested() {
    // A new example must get a canned mint output in every_example_job_runs_as_the_unit_runs_it.
    let mut names: Vec<String> = std::fs::read_dir(root().join("contrib/examples"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".env"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "aws-credentials-profile.env",
            "aws-sts.env",
            "azure-access-token.env",
            "backstage-app-config.env",
            "gcp-access-token.env",
            "kubernetes-token.env",
            "lakebase-backstage.env",
            "pgpass-lakebase.env",
            "raw-password-file.env",
            "spring-boot-properties.env",
            "toml-config.env",
            "vault-database.env",
        ]
    );
}
