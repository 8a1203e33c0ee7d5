//! Chaos: K writer loops set distinct keys of one `.env`, R reader loops parse every read, and a
//! killer sends SIGKILL to random running writers, for a bounded time.
//!
//! What is checked (DESIGN.md "Guarantees" 1, 2 and 6):
//! - **torn reads**: every read must parse with dotenvy, end with its final newline, and hold
//!   every key (all exist from the start) with a well-formed value;
//! - **lost updates**: per key, the value `v-<i>-<n>` a reader sees never has `n` below a value
//!   already acknowledged (exit 0) before the read began, nor below one another read already saw
//!   (no value goes backwards);
//! - **the end state**: every key holds its last acknowledged value, or a later one whose run was
//!   killed (a killed run may or may not have renamed), and one more normal run leaves no temp.
//!
//! The same harness runs the naive cron approaches as the negative control (`sed -i`; `grep -v >
//! tmp; echo >> tmp; mv`; `> file`), and must catch each of them: a chaos test that cannot catch
//! the naive script proves nothing.
//!
//! The killer only signals pids it finds in `running`, and a writer removes its child's pid from
//! there after `waitid(WNOWAIT)` sees it exit but before reaping it, so a pid is never reused
//! under the killer's hand.

use crate::harness::{BIN, Test, temps};
use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Writer loops, one per key.
const K: usize = 4;
/// Reader loops.
const R: usize = 2;
const FILE: &str = ".env";

/// How one writer run sets `KEY_<key>` to `value` in `FILE` inside `dir`.
type Writer = fn(dir: &Path, key: usize, value: &str) -> Command;

fn key(i: usize) -> String {
    format!("KEY_{i}")
}

fn value(i: usize, n: u64) -> String {
    format!("v-{i}-{n}")
}

fn initial() -> String {
    let mut text = String::from("# chaos target\nexport OTHER='keep me'\n");
    for i in 0..K {
        text.push_str(&format!("{}={}\n", key(i), value(i, 0)));
    }
    text.push_str("LAST=end # the final line\n");
    text
}

/// The harness's counters, and a few examples of each anomaly.
#[derive(Default)]
struct Stats {
    runs: AtomicU64,
    acked: AtomicU64,
    killed: AtomicU64,
    failed: AtomicU64,
    kills_sent: AtomicU64,
    reads: AtomicU64,
    torn: AtomicU64,
    /// A read saw a value below one acknowledged before the read began.
    lost: AtomicU64,
    /// A read saw a value below one an earlier read had already seen.
    backwards: AtomicU64,
    /// Keys whose final value is below their last acknowledged one (or was never attempted).
    final_lost: AtomicU64,
    examples: Mutex<Vec<String>>,
}

impl Stats {
    /// Count an anomaly; keep its description if it is among the first two of its kind.
    fn note(&self, counter: &AtomicU64, example: String) {
        if counter.fetch_add(1, SeqCst) < 2 {
            self.examples.lock().unwrap().push(example);
        }
    }

    fn get(c: &AtomicU64) -> u64 {
        c.load(SeqCst)
    }

    fn anomalies(&self) -> u64 {
        Self::get(&self.torn)
            + Self::get(&self.lost)
            + Self::get(&self.backwards)
            + Self::get(&self.final_lost)
    }

    fn summary(&self, name: &str, took: Duration) -> String {
        format!(
            "chaos {name}: {:.1}s, {} writes ({} acknowledged, {} killed, {} failed; {} SIGKILLs \
             sent), {} reads: {} torn, {} showing a lost update (below an acknowledged value), {} \
             showing a value gone backwards (below one already read); {} keys lost at the end; \
             examples: {:?}",
            took.as_secs_f64(),
            Self::get(&self.runs),
            Self::get(&self.acked),
            Self::get(&self.killed),
            Self::get(&self.failed),
            Self::get(&self.kills_sent),
            Self::get(&self.reads),
            Self::get(&self.torn),
            Self::get(&self.lost),
            Self::get(&self.backwards),
            Self::get(&self.final_lost),
            self.examples.lock().unwrap(),
        )
    }
}

/// What the loops share.
struct Shared {
    path: PathBuf,
    until: Instant,
    stop: AtomicBool,
    /// Pids of writer runs not yet reaped: the killer's only targets.
    running: Mutex<Vec<u32>>,
    /// Per key, the last `n` acknowledged (exit 0).
    acked: [AtomicU64; K],
    /// Per key, the highest `n` any finished read has seen.
    seen: [AtomicU64; K],
    /// Per key, the `n` of every run that was not acknowledged (killed or failed).
    unacked: Mutex<[Vec<u64>; K]>,
    /// Per key, the highest `n` attempted.
    attempted: [AtomicU64; K],
    stats: Stats,
}

/// Parse one read: the `n` of every key, or why the read is torn.
fn parse(bytes: &[u8]) -> Result<[u64; K], String> {
    if !bytes.ends_with(b"\n") {
        return Err(format!("truncated: {:?}", String::from_utf8_lossy(bytes)));
    }
    let pairs: Vec<(String, String)> = dotenvy::from_read_iter(bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("dotenvy: {e}: {:?}", String::from_utf8_lossy(bytes)))?;
    let map: BTreeMap<_, _> = pairs.into_iter().collect();
    if map.get("OTHER").map(String::as_str) != Some("keep me")
        || map.get("LAST").map(String::as_str) != Some("end")
    {
        return Err(format!("other keys changed: {map:?}"));
    }
    let mut ns = [0; K];
    for (i, n) in ns.iter_mut().enumerate() {
        let v = map
            .get(&key(i))
            .ok_or_else(|| format!("{} missing: {map:?}", key(i)))?;
        *n = v
            .strip_prefix(&format!("v-{i}-"))
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("{} malformed: {v:?}", key(i)))?;
    }
    Ok(ns)
}

/// Block until `pid` has exited, without reaping it (so its pid cannot be reused yet).
fn wait_exited(pid: u32) {
    loop {
        // SAFETY: siginfo_t is plain data; waitid only writes into it.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: a valid pid of our own child and a valid out pointer.
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if rc == 0 {
            return;
        }
        let err = std::io::Error::last_os_error();
        assert_eq!(err.raw_os_error(), Some(libc::EINTR), "waitid: {err}");
    }
}

fn writer(sh: &Shared, i: usize, make: Writer) {
    let dir = sh.path.parent().unwrap();
    let mut n = 0;
    while Instant::now() < sh.until {
        n += 1;
        sh.attempted[i].store(n, SeqCst);
        let mut cmd = make(dir, i, &value(i, n));
        cmd.current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn a writer run");
        let pid = child.id();
        sh.running.lock().unwrap().push(pid);
        wait_exited(pid);
        sh.running.lock().unwrap().retain(|&p| p != pid);
        let status = child.wait().expect("reap a writer run");
        sh.stats.runs.fetch_add(1, SeqCst);
        if status.success() {
            sh.acked[i].store(n, SeqCst);
            sh.stats.acked.fetch_add(1, SeqCst);
            continue;
        }
        sh.unacked.lock().unwrap()[i].push(n);
        if std::os::unix::process::ExitStatusExt::signal(&status) == Some(libc::SIGKILL) {
            sh.stats.killed.fetch_add(1, SeqCst);
        } else {
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            sh.stats.note(
                &sh.stats.failed,
                format!("{} run {n}: {status}: {}", key(i), err.trim()),
            );
        }
    }
}

fn reader(sh: &Shared) {
    while !sh.stop.load(SeqCst) {
        // Everything acknowledged or seen before this read began is a floor for what it sees.
        let floor: [(u64, u64); K] =
            std::array::from_fn(|i| (sh.acked[i].load(SeqCst), sh.seen[i].load(SeqCst)));
        let bytes = fs::read(&sh.path).unwrap_or_default();
        sh.stats.reads.fetch_add(1, SeqCst);
        let ns = match parse(&bytes) {
            Ok(ns) => ns,
            Err(why) => {
                sh.stats.note(&sh.stats.torn, format!("torn read: {why}"));
                continue;
            }
        };
        for (i, &n) in ns.iter().enumerate() {
            let (acked, seen) = floor[i];
            if n < acked {
                let what = format!("{} read {n} after {acked} was acknowledged", key(i));
                sh.stats.note(&sh.stats.lost, what);
            } else if n < seen {
                let what = format!("{} read {n} after {seen} was read", key(i));
                sh.stats.note(&sh.stats.backwards, what);
            }
            sh.seen[i].fetch_max(n, SeqCst);
        }
    }
}

fn killer(sh: &Shared) {
    while !sh.stop.load(SeqCst) {
        thread::sleep(Duration::from_millis(fastrand::u64(10..80)));
        let running = sh.running.lock().unwrap();
        if running.is_empty() {
            continue;
        }
        let pid = running[fastrand::usize(..running.len())];
        // SAFETY: kill has no memory preconditions; `pid` is an unreaped child of ours (see the
        // module comment), so it cannot name another process.
        if unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) } == 0 {
            sh.stats.kills_sent.fetch_add(1, SeqCst);
        }
    }
}

/// Run K writers with `make`, R readers and the killer on a fresh file for `secs`, then check
/// the end state. Returns the stats and the shared state for the caller's assertions.
fn chaos(dir: &Path, make: Writer, secs: f64) -> Arc<Shared> {
    let path = dir.join(FILE);
    fs::write(&path, initial()).unwrap();
    let sh = Arc::new(Shared {
        path,
        until: Instant::now() + Duration::from_secs_f64(secs),
        stop: AtomicBool::new(false),
        running: Mutex::new(Vec::new()),
        acked: Default::default(),
        seen: Default::default(),
        unacked: Mutex::new(Default::default()),
        attempted: Default::default(),
        stats: Stats::default(),
    });
    let writers: Vec<_> = (0..K)
        .map(|i| {
            let sh = Arc::clone(&sh);
            thread::spawn(move || writer(&sh, i, make))
        })
        .collect();
    let others: Vec<_> = (0..R)
        .map(|_| {
            let sh = Arc::clone(&sh);
            thread::spawn(move || reader(&sh))
        })
        .chain([{
            let sh = Arc::clone(&sh);
            thread::spawn(move || killer(&sh))
        }])
        .collect();
    for w in writers {
        w.join().expect("writer thread");
    }
    sh.stop.store(true, SeqCst);
    for t in others {
        t.join().expect("reader or killer thread");
    }
    check_end(&sh);
    sh
}

/// Every key holds its last acknowledged value, or a later one whose run was not acknowledged.
fn check_end(sh: &Shared) {
    let bytes = fs::read(&sh.path).unwrap_or_default();
    let ns = match parse(&bytes) {
        Ok(ns) => ns,
        Err(why) => {
            sh.stats
                .note(&sh.stats.torn, format!("final file torn: {why}"));
            return;
        }
    };
    let unacked = sh.unacked.lock().unwrap();
    for (i, &n) in ns.iter().enumerate() {
        let acked = sh.acked[i].load(SeqCst);
        let explained = n == acked || (n > acked && unacked[i].contains(&n));
        if !explained {
            sh.stats.note(
                &sh.stats.final_lost,
                format!(
                    "{} ends at {n}; last acknowledged {acked}, attempted up to {}",
                    key(i),
                    sh.attempted[i].load(SeqCst)
                ),
            );
        }
    }
}

fn credshim(_dir: &Path, i: usize, value: &str) -> Command {
    let mut c = Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("CREDSHIM_") || k == "RUST_LOG" || k == "JOURNAL_STREAM" {
            c.env_remove(k);
        }
    }
    c.args(["rotate", "--target", FILE, "--set", &key(i)])
        .args(["--lock-timeout", "60s", "--retries", "0"])
        .args(["--", "/bin/echo", value]);
    c
}

/// Seconds each harness runs: the credshim battery, then each naive variant.
const CHAOS_SECS: f64 = 8.0;
const NAIVE_SECS: f64 = 2.0;

#[test]
fn chaos_writers_readers_and_sigkill_lose_nothing() {
    let t = Test::new();
    let started = Instant::now();
    let sh = chaos(t.dir.path(), credshim, CHAOS_SECS);
    let s = &sh.stats;
    eprintln!("{}", s.summary("credshim", started.elapsed()));
    assert_eq!(
        Stats::get(&s.failed),
        0,
        "{}",
        s.summary("credshim", started.elapsed())
    );
    assert_eq!(
        s.anomalies(),
        0,
        "{}",
        s.summary("credshim", started.elapsed())
    );
    // The battery must have exercised something, or 0 anomalies means nothing.
    assert!(Stats::get(&s.acked) >= 40, "too few writes acknowledged");
    assert!(Stats::get(&s.killed) >= 5, "too few runs killed");
    assert!(Stats::get(&s.reads) >= 100, "too few reads");

    // The next normal run succeeds and sweeps the temp files killed runs left behind.
    let n = sh.attempted[0].load(SeqCst) + 1;
    let status = credshim(t.dir.path(), 0, &value(0, n))
        .current_dir(t.dir.path())
        .status()
        .unwrap();
    assert!(status.success(), "the run after the chaos: {status}");
    let ns = parse(&fs::read(&sh.path).unwrap()).expect("the file after the chaos parses");
    assert_eq!(ns[0], n);
    assert_eq!(temps(t.dir.path()), Vec::<String>::new());
}

/// The naive cron job: `sed -i` (a private temp file and a rename, but no lock).
fn sed_in_place(_dir: &Path, i: usize, value: &str) -> Command {
    let k = key(i);
    let mut c = Command::new("sed");
    c.args(["-i", &format!("s/^{k}=.*/{k}={value}/"), FILE]);
    c
}

/// The naive cron job: a filtered copy to a temp file, the new line appended, `mv` (no lock).
fn grep_and_mv(_dir: &Path, i: usize, value: &str) -> Command {
    let mut c = Command::new("/bin/sh");
    c.args([
        "-c",
        "grep -v \"^$1=\" \"$3\" > \"$3.tmp.$$\"; echo \"$1=$2\" >> \"$3.tmp.$$\"; \
         mv \"$3.tmp.$$\" \"$3\"",
        "sh",
        &key(i),
        value,
        FILE,
    ]);
    c
}

/// The naive cron job at its worst: rewrite the file in place with `>`.
fn truncate_and_write(_dir: &Path, i: usize, value: &str) -> Command {
    let mut c = Command::new("/bin/sh");
    c.args([
        "-c",
        "new=$(sed \"s/^$1=.*/$1=$2/\" \"$3\") && printf '%s\\n' \"$new\" > \"$3\"",
        "sh",
        &key(i),
        value,
        FILE,
    ]);
    c
}

/// The negative control: the same harness must catch every naive approach. `sed -i` and
/// `grep | mv` replace the file atomically, so they are caught by their lost updates; `>` by
/// torn reads as well.
#[test]
fn chaos_harness_catches_the_naive_cron_scripts() {
    let mut missed = Vec::new();
    for (name, make) in [
        ("sed -i", sed_in_place as Writer),
        ("grep -v > tmp; mv", grep_and_mv as Writer),
        ("> file", truncate_and_write as Writer),
    ] {
        let t = Test::new();
        let started = Instant::now();
        let sh = chaos(t.dir.path(), make, NAIVE_SECS);
        let s = &sh.stats;
        let summary = s.summary(&format!("negative control `{name}`"), started.elapsed());
        eprintln!("{summary}");
        assert!(Stats::get(&s.acked) >= 20, "too few writes: {summary}");
        if s.anomalies() == 0 {
            missed.push(summary);
        }
    }
    assert!(
        missed.is_empty(),
        "the harness did not catch a naive script: {missed:#?}"
    );
}
