//! The `.env` splice alone (`credshim::format::env::splice`, pure text in, text out) on files of 1k,
//! 10k, 100k and 1M lines: the time per line must stay flat, i.e. the splice is linear.
//!
//! `cargo bench --bench splice [-- LINES...]` (release profile). No harness: each size is spliced
//! repeatedly for about a second (at least 5 times) and the median is reported, both as wall time
//! and as the thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), which a busy machine disturbs less.
//! Prints a Markdown table; `benches/run.sh` copies it into benches/RESULTS.md. Numbers given as
//! arguments replace the default sizes (for a profiler: one size only); the argument `pgpass`
//! measures `credshim::format::pgpass::splice` on password files instead (one KEY line in the
//! middle of comments, wildcard lines for other databases and other users' lines), and `yaml`
//! measures `credshim::format::yaml::splice` on an `app-config.yaml` shaped file with the
//! password in the middle, and `properties` `credshim::format::properties::splice` on an
//! `application.properties` (comments of both kinds, every separator, escapes, a continued value).

use std::hint::black_box;
use std::time::{Duration, Instant};

const SIZES: [usize; 4] = [1_000, 10_000, 100_000, 1_000_000];
const BUDGET: Duration = Duration::from_secs(1);
const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.\
                   eyJzdWIiOiJiZW5jaCIsImV4cCI6NDEwMjQ0NDgwMH0.\
                   c2lnbmF0dXJlLW9mLXRoZS1iZW5jaC10b2tlbg";

/// A `.env` of `lines` lines in the shapes real files have (comments, blank lines, `export `,
/// bare, single- and double-quoted values), with `TOKEN` once, in the middle.
fn env_file(lines: usize) -> String {
    let mut text = String::with_capacity(lines * 40);
    for i in 0..lines {
        if i == lines / 2 {
            text.push_str("TOKEN=old.token.value\n");
            continue;
        }
        let line = match i % 8 {
            0 => format!("# section {i}: settings of the service\n"),
            1 => "\n".to_string(),
            2 => format!("export SERVICE_{i}_URL=https://svc-{i}.example.com:8443/api\n"),
            3 => format!("SERVICE_{i}_NAME='service number {i}'\n"),
            4 => format!("SERVICE_{i}_GREETING=\"hello, world {i}\"\n"),
            5 => format!("SERVICE_{i}_TIMEOUT={i} # seconds\n"),
            _ => format!("SERVICE_{i}_KEY=AKIA{i:016}\n"),
        };
        text.push_str(&line);
    }
    text
}

/// A password file of `lines` lines, with KEY `db.example.com:5432:app:app` once, in the middle;
/// the other lines cannot shadow it (other users, or another database).
fn pgpass_file(lines: usize) -> String {
    let mut text = String::with_capacity(lines * 50);
    for i in 0..lines {
        let line = match i % 4 {
            _ if i == lines / 2 => "db.example.com:5432:app:app:old.token.value\n".to_string(),
            0 => format!("# replica {i}\n"),
            1 => format!("*:*:other_{i}:*:pw\\:{i}\n"),
            _ => format!("db-{i}.example.com:5432:app:user_{i}:AKIA{i:016}\n"),
        };
        text.push_str(&line);
    }
    text
}

/// A YAML file of about `lines` lines: blocks of a mapping of services (comments, plain, quoted
/// and flow values, a sequence), with `/backend/database/connection/password` in the middle.
fn yaml_file(lines: usize) -> String {
    let mut text = String::with_capacity(lines * 40);
    let mut n = 0;
    let mut i = 0;
    while n < lines {
        if n >= lines / 2 && !text.contains("backend:") {
            text.push_str(
                "backend:\n  database:\n    client: pg\n    connection:\n      host: db\n      \
                 password: old.token.value # rotated\n",
            );
            n += 6;
        }
        text.push_str(&format!(
            "# service {i}\nservice_{i}:\n  url: https://svc-{i}.example.com:8443/api\n  \
             name: 'service number {i}'\n  greeting: \"hello, world {i}\"\n  \
             limits: {{cpu: 2, memory: 4Gi}}\n  tags:\n    - a\n"
        ));
        n += 8;
        i += 1;
    }
    text
}

/// An `application.properties` of `lines` lines in the shapes real files have (comments of both
/// kinds, blank lines, `=`, `:` and blank separators, escapes, a continued value), with the
/// password once, in the middle.
fn properties_file(lines: usize) -> String {
    let mut text = String::with_capacity(lines * 40);
    for i in 0..lines {
        if i == lines / 2 {
            text.push_str("spring.datasource.password = old.token.value\n");
            continue;
        }
        let line = match i % 8 {
            0 => format!("# section {i}: settings of the service\n"),
            1 => "\n".to_string(),
            2 => format!("service.{i}.url=https://svc-{i}.example.com:8443/api\n"),
            3 => format!("service.{i}.name: service number {i}\n"),
            4 => format!("service.{i}.greeting = Gr\\u00fc\\u00dfe, world {i}\n"),
            5 => format!("service.{i}.list = a,\\\n    b\n"),
            6 => format!("! service {i}\n"),
            _ => format!("service.{i}.key AKIA{i:016}\n"),
        };
        text.push_str(&line);
    }
    text
}

/// The splice a run measures.
type Splice = fn(&str, &[(String, String)]) -> Result<String, String>;

fn env_splice(text: &str, updates: &[(String, String)]) -> Result<String, String> {
    credshim::format::env::splice(text, updates)
        .map(|s| s.text)
        .map_err(|e| e.to_string())
}

fn pgpass_splice(text: &str, updates: &[(String, String)]) -> Result<String, String> {
    credshim::format::pgpass::splice(text, updates)
        .map(|s| s.text)
        .map_err(|e| format!("{e:?}"))
}

fn properties_splice(text: &str, updates: &[(String, String)]) -> Result<String, String> {
    credshim::format::properties::splice(text, updates).map_err(|e| e.to_string())
}

fn yaml_splice(text: &str, updates: &[(String, String)]) -> Result<String, String> {
    credshim::format::yaml::splice(text, updates).map_err(|e| format!("{e:?}"))
}

/// CPU time of this thread so far.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write to; the clock id is a constant Linux knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        SIZES.to_vec()
    } else {
        sizes
    };
    let mode = |m: &str| std::env::args().any(|a| a == m);
    let (key, file, splice, line): (&str, fn(usize) -> String, Splice, String) = if mode("pgpass") {
        let key = "db.example.com:5432:app:app";
        (key, pgpass_file, pgpass_splice, format!("\n{key}:{JWT}\n"))
    } else if mode("properties") {
        let key = "spring.datasource.password";
        (
            key,
            properties_file,
            properties_splice,
            format!("\n{key} = {JWT}\n"),
        )
    } else if mode("yaml") {
        let key = "/backend/database/connection/password";
        (
            key,
            yaml_file,
            yaml_splice,
            format!(" password: {JWT} # rotated\n"),
        )
    } else {
        ("TOKEN", env_file, env_splice, format!("\nTOKEN={JWT}\n"))
    };
    let updates = vec![(key.to_string(), JWT.to_string())];
    println!(
        "| lines | file size | median wall time | wall ns/line | median CPU time | CPU ns/line | runs |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let mut per_line = Vec::new();
    for lines in sizes {
        let text = file(lines);
        // Check once that the bench measures a real splice.
        let out = splice(&text, &updates).expect("the bench file splices");
        assert!(out.contains(&line));
        assert_eq!(out.len(), text.len() - "old.token.value".len() + JWT.len());

        let (mut walls, mut cpus) = (Vec::new(), Vec::new());
        let started = Instant::now();
        while walls.len() < 5 || started.elapsed() < BUDGET {
            let (t, c) = (Instant::now(), thread_cpu());
            let out = splice(black_box(&text), black_box(&updates));
            drop(black_box(out).unwrap());
            cpus.push(thread_cpu() - c);
            walls.push(t.elapsed());
        }
        let runs = walls.len();
        let (wall, cpu) = (median(walls), median(cpus));
        let per = |d: Duration| d.as_nanos() as f64 / lines as f64;
        per_line.push(per(cpu));
        println!(
            "| {lines} | {} | {} | {:.1} | {} | {:.1} | {runs} |",
            size(text.len()),
            human(wall),
            per(wall),
            human(cpu),
            per(cpu),
        );
    }
    let min = per_line.iter().copied().fold(f64::INFINITY, f64::min);
    let max = per_line.iter().copied().fold(0.0, f64::max);
    println!();
    println!(
        "CPU ns per line from {min:.1} to {max:.1}: the largest is {:.2}x the smallest.",
        max / min
    );
}

fn size(bytes: usize) -> String {
    if bytes < 1024 * 1024 {
        format!("{:.0} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    }
}

fn human(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.1} µs")
    } else {
        format!("{:.2} ms", us / 1000.0)
    }
}
