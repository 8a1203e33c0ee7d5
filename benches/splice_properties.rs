//! The `.properties` splice alone (`credshim::format::properties::splice`, pure text in, text
//! out) on files of 1k, 10k, 100k and 1M lines: the time per line must stay flat, i.e. the splice
//! is linear. The same harness as `benches/splice.rs` (the `.env` one): each size is spliced
//! repeatedly for about a second (at least 5 times), median wall and thread CPU time, a Markdown
//! table. `cargo bench --bench splice_properties [-- LINES...]`.

use std::hint::black_box;
use std::time::{Duration, Instant};

const SIZES: [usize; 4] = [1_000, 10_000, 100_000, 1_000_000];
const BUDGET: Duration = Duration::from_secs(1);
const KEY: &str = "spring.datasource.password";
const PASSWORD: &str = "A1a-Zt9vQ0xWp3Lr8sKj-v4uLt7Qe2";

/// An `application.properties` of `lines` lines in the shapes real files have (comments of both
/// kinds, blank lines, `=`, `:` and blank separators, escapes, a continued value), with the
/// password once, in the middle.
fn properties_file(lines: usize) -> String {
    let mut text = String::with_capacity(lines * 40);
    for i in 0..lines {
        if i == lines / 2 {
            text.push_str("spring.datasource.password = old-password\n");
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
    let updates = vec![(KEY.to_string(), PASSWORD.to_string())];
    println!(
        "| lines | file size | median wall time | wall ns/line | median CPU time | CPU ns/line | runs |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let mut per_line = Vec::new();
    for lines in sizes {
        let text = properties_file(lines);
        // Check once that the bench measures a real splice.
        let out =
            credshim::format::properties::splice(&text, &updates).expect("the bench file splices");
        assert!(out.contains(&format!("\n{KEY} = {PASSWORD}\n")));
        assert_eq!(
            out.len(),
            text.len() - "old-password".len() + PASSWORD.len()
        );

        let (mut walls, mut cpus) = (Vec::new(), Vec::new());
        let started = Instant::now();
        while walls.len() < 5 || started.elapsed() < BUDGET {
            let (t, c) = (Instant::now(), thread_cpu());
            let out = credshim::format::properties::splice(black_box(&text), black_box(&updates));
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
