//! Faults: the write path traced with `strace`, killed at every syscall after the lock, fed
//! injected errors, and run against real faults (a full file system, `RLIMIT_FSIZE`, a read-only
//! mount, an immutable file, an unprivileged user).
//!
//! What is checked (DESIGN.md "Guarantees" 1, 5, 6, 7 and 8, and the exit-code table):
//! - **order**: the lock is taken before the temp file is opened (`O_CREAT|O_EXCL`, mode 0600);
//!   owner, mode, ACL and `user.*` xattrs are set on the temp fd before its first write; then
//!   write < fsync(temp) < rename < fsync(directory) < the reload < unlock. No `execve` of any
//!   process of the run carries the secret in its argv or environment;
//! - **crash**: the run is killed at every syscall it makes after the lock; each time the target
//!   is the old file or the new one, byte for byte, with its owner and mode, and the next normal
//!   run succeeds and leaves no temp file;
//! - **injected errors**: each errno on the temp file's open, fchmod, fchown, write, fsync and
//!   rename, and on the directory's open and fsync after the rename, gives the table's exit code,
//!   leaves the target as it should be and no temp file, and a failed fsync is not retried;
//! - **real faults**: the same, caused for real.
//!
//! Tests that need root, `strace`, `mount`, `chattr` or `setpriv` print `skipped:` where they are
//! missing, and fail instead under `CREDSHIM_TEST_REQUIRE_ALL` (CI). The figures (kill points
//! tried, errors injected) are printed on stderr: `cargo test -- --nocapture` shows them.

use crate::harness::{BIN, Done, Test, is_root, log_line, skip, temps};
use std::ffi::{CString, OsStr, OsString};
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

const OLD: &str = "# app settings\nA=1\nTOKEN=old-token-value\nexport B='two words'\n";

/// The uid and gid a dressed target belongs to (not ours, so the temp file needs an fchown).
const OWNER: u32 = 1000;
const NOBODY: u32 = 65534;

/// A secret no other byte of any test would contain by chance.
fn new_secret() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("S3cr3t-{}-{nanos:08x}-zq", std::process::id())
}

fn new_text(secret: &str) -> String {
    OLD.replace("TOKEN=old-token-value", &format!("TOKEN={secret}"))
}

/// A test rotating `app.env` with a mint that `cat`s the secret (no argv carries it) and a
/// reload that logs `reload`.
fn rotation(secret: &str) -> Test {
    Test::new()
        .file("app.env", OLD)
        .file("secret", secret)
        .mint("cat \"$TEST_DIR/secret\"")
        .script("reload", &log_line("reload"))
        .args([
            "--target", "app.env", "--set", "TOKEN", "--reload", "./reload",
        ])
}

// ---------------------------------------------------------------------------------------------
// Running credshim under another program (strace, setpriv).

/// How a run ended.
struct Ran {
    code: Option<i32>,
    signal: Option<i32>,
    stderr: String,
}

/// The test's credshim command, run under `prefix` (a program and its options), with `program`
/// in place of credshim's binary when given.
fn command_under(t: &Test, prefix: &[&OsStr], program: Option<&OsStr>) -> Command {
    let inner = t.command();
    let mut cmd = Command::new(prefix[0]);
    cmd.args(&prefix[1..])
        .arg(program.unwrap_or(inner.get_program()))
        .args(inner.get_args());
    for (k, v) in inner.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    if let Some(dir) = inner.get_current_dir() {
        cmd.current_dir(dir);
    }
    cmd
}

fn run_under(t: &Test, prefix: &[&OsStr]) -> Ran {
    let out = command_under(t, prefix, None)
        .output()
        .expect("run credshim");
    Ran {
        code: out.status.code(),
        signal: out.status.signal(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The test's credshim command as it is.
fn run_plain(t: &Test) -> Ran {
    let out = t.command().output().expect("run credshim");
    Ran {
        code: out.status.code(),
        signal: out.status.signal(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn works(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn have_strace() -> bool {
    works("strace", "-V")
}

/// `strace -o LOG <opts> --` as a prefix.
fn strace(log: &Path, opts: &[&str]) -> Vec<OsString> {
    let mut p: Vec<OsString> = vec!["strace".into(), "-o".into(), log.into()];
    p.extend(opts.iter().map(OsString::from));
    p.push("--".into());
    p
}

fn refs(v: &[OsString]) -> Vec<&OsStr> {
    v.iter().map(OsString::as_os_str).collect()
}

// ---------------------------------------------------------------------------------------------
// Reading an strace log.

/// One syscall: the start line gives its place in the log, a `resumed` line completes it.
#[derive(Debug, Clone)]
struct Call {
    pid: u32,
    name: String,
    args: String,
    ret: String,
}

impl Call {
    /// The first argument as a file descriptor.
    fn fd(&self) -> Option<i64> {
        self.args.split(',').next()?.trim().parse().ok()
    }

    fn ret_fd(&self) -> Option<i64> {
        self.ret.split_whitespace().next()?.parse().ok()
    }

    fn on(&self, name: &str, fd: i64) -> bool {
        self.name == name && self.fd() == Some(fd)
    }

    fn ok(&self) -> bool {
        self.ret.starts_with("0")
    }
}

/// Split `args)   = ret` (strace pads before the `=`) or `args` of an unfinished call.
fn split_ret(rest: &str) -> (String, String) {
    let mut end = rest.len();
    while let Some(i) = rest[..end].rfind(" = ") {
        if let Some(args) = rest[..i].trim_end().strip_suffix(')') {
            return (args.to_string(), rest[i + 3..].to_string());
        }
        end = i;
    }
    (rest.trim_end_matches(')').to_string(), String::new())
}

/// Parse `strace [-f] -o` output: `[PID ]name(args) = ret`, with `<unfinished ...>` and
/// `<... name resumed>` halves joined; signals and exits are left out.
fn parse_trace(text: &str) -> Vec<Call> {
    let mut calls: Vec<Call> = Vec::new();
    let mut open: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
    for line in text.lines() {
        let digits = line.chars().take_while(char::is_ascii_digit).count();
        let (pid, rest) = if digits > 0 {
            (line[..digits].parse().unwrap(), line[digits..].trim_start())
        } else {
            (0, line)
        };
        if rest.starts_with("---") || rest.starts_with("+++") {
            continue;
        }
        if let Some(resumed) = rest.strip_prefix("<... ") {
            let Some(i) = open.remove(&pid) else { continue };
            let tail = resumed.split_once("resumed>").map_or("", |(_, t)| t);
            let (args, ret) = split_ret(tail.trim_start());
            calls[i].args.push_str(&args);
            calls[i].ret = ret;
            continue;
        }
        let Some((name, rest)) = rest.split_once('(') else {
            continue;
        };
        if let Some(args) = rest.strip_suffix(" <unfinished ...>") {
            open.insert(pid, calls.len());
            calls.push(Call {
                pid,
                name: name.to_string(),
                args: args.to_string(),
                ret: String::new(),
            });
        } else {
            let (args, ret) = split_ret(rest);
            calls.push(Call {
                pid,
                name: name.to_string(),
                args,
                ret,
            });
        }
    }
    calls
}

fn read_trace(log: &Path) -> Vec<Call> {
    parse_trace(&fs::read_to_string(log).expect("strace log"))
}

/// The places of the write path's syscalls in one run of credshim's main thread.
#[derive(Debug)]
struct WritePath {
    lock_fd: i64,
    flock: usize,
    tmp_open: usize,
    tmp_fd: i64,
    first_write: usize,
    tmp_fsync: usize,
    rename: usize,
    dir_open: usize,
    dir_fd: i64,
    dir_fsync: usize,
    unlock: usize,
}

fn find(calls: &[Call], from: usize, what: &str, pred: impl Fn(&Call) -> bool) -> usize {
    calls
        .iter()
        .enumerate()
        .skip(from)
        .find(|(_, c)| pred(c))
        .map(|(i, _)| i)
        .unwrap_or_else(|| {
            panic!(
                "no {what} in the trace after call {from}:\n{}",
                show(calls, from)
            )
        })
}

/// Calls from `from` on, one a line, cut short.
fn show(calls: &[Call], from: usize) -> String {
    let mut out = String::new();
    for (i, c) in calls.iter().enumerate().skip(from).take(120) {
        let args: String = c.args.chars().take(160).collect();
        out.push_str(&format!(
            "#{i} [{}] {}({args}) = {}\n",
            c.pid, c.name, c.ret
        ));
    }
    out
}

/// Locate the write path in `calls` (one process's calls, in order).
fn write_path(calls: &[Call]) -> WritePath {
    let lock_open = find(calls, 0, "open of the lock", |c| {
        c.name == "openat" && c.args.contains(".app.env.credshim.lock\"")
    });
    let lock_fd = calls[lock_open].ret_fd().expect("lock fd");
    let flock = find(calls, lock_open, "flock(LOCK_EX)", |c| {
        c.on("flock", lock_fd) && c.args.contains("LOCK_EX") && c.ok()
    });
    let tmp_open = find(calls, 0, "open of the temp file", |c| {
        c.name == "openat" && c.args.contains(".app.env.credshim.") && c.args.contains(".tmp\"")
    });
    let tmp_fd = calls[tmp_open].ret_fd().expect("temp fd");
    let first_write = find(calls, tmp_open, "write to the temp", |c| {
        c.on("write", tmp_fd)
    });
    let tmp_fsync = find(calls, first_write, "fsync of the temp", |c| {
        c.on("fsync", tmp_fd)
    });
    // Relative to the directory's descriptor, which the run opened when it found the target.
    let rename = find(calls, tmp_fsync, "rename", |c| {
        c.name.starts_with("rename") && c.args.contains(".tmp\"") && c.args.contains("\"app.env\"")
    });
    let dir_fd = calls[rename].fd().expect("directory fd");
    let dir_open = (0..rename)
        .rev()
        .find(|&i| {
            calls[i].name == "openat"
                && calls[i].ret_fd() == Some(dir_fd)
                && calls[i].args.contains("O_DIRECTORY")
        })
        .unwrap_or_else(|| panic!("no open of the directory:\n{}", show(calls, 0)));
    assert!(
        dir_open < tmp_open,
        "the directory is opened before the temp file"
    );
    let dir_fsync = find(calls, rename, "fsync of the directory", |c| {
        c.on("fsync", dir_fd)
    });
    let unlock = find(calls, flock, "unlock (close, LOCK_UN or exit)", |c| {
        c.on("close", lock_fd)
            || (c.on("flock", lock_fd) && c.args.contains("LOCK_UN"))
            || c.name == "exit_group"
    });
    WritePath {
        lock_fd,
        flock,
        tmp_open,
        tmp_fd,
        first_write,
        tmp_fsync,
        rename,
        dir_open,
        dir_fd,
        dir_fsync,
        unlock,
    }
}

/// The `n` such that `calls[i]` is the `n`th call (from 1) of its syscall: strace's `when=n`.
fn nth(calls: &[Call], i: usize) -> usize {
    calls[..=i]
        .iter()
        .filter(|c| c.name == calls[i].name)
        .count()
}

// ---------------------------------------------------------------------------------------------
// Files: metadata that makes the write path do everything (fchown, fchmod, fsetxattr).

fn c_path(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap()
}

fn set_xattr(path: &Path, name: &str, value: &[u8]) -> io::Result<()> {
    let (p, n) = (c_path(path), CString::new(name).unwrap());
    // SAFETY: valid NUL-terminated strings and a buffer of value.len() bytes.
    let rc = unsafe {
        libc::setxattr(
            p.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn get_xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let (p, n) = (c_path(path), CString::new(name).unwrap());
    let mut buf = vec![0u8; 4096];
    // SAFETY: buf is valid for buf.len() bytes.
    let rc = unsafe { libc::getxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    usize::try_from(rc).ok().map(|n| buf[..n].to_vec())
}

/// A POSIX access ACL `u::rw-,u:65534:r--,g::r--,m::r--,o::---` in the kernel's xattr form.
fn acl_bytes() -> Vec<u8> {
    let mut v = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in [
        (0x01u16, 6u16, u32::MAX),
        (0x02, 4, NOBODY),
        (0x04, 4, u32::MAX),
        (0x10, 4, u32::MAX),
        (0x20, 0, u32::MAX),
    ] {
        v.extend(tag.to_le_bytes());
        v.extend(perm.to_le_bytes());
        v.extend(id.to_le_bytes());
    }
    v
}

/// What `dress` gave the target.
#[derive(Debug, Clone, PartialEq)]
struct Dress {
    uid: u32,
    gid: u32,
    mode: u32,
    acl: bool,
    xattr: bool,
}

/// Give `path` mode 0640, a `user.*` xattr and an ACL where the file system takes them, and
/// (as root) an owner that is not us.
fn dress(path: &Path) -> Dress {
    if is_root() {
        std::os::unix::fs::chown(path, Some(OWNER), Some(OWNER)).unwrap();
    }
    fs::set_permissions(path, fs::Permissions::from_mode(0o640)).unwrap();
    let xattr = set_xattr(path, "user.team", b"ops").is_ok();
    let acl = set_xattr(path, "system.posix_acl_access", &acl_bytes()).is_ok();
    let meta = fs::metadata(path).unwrap();
    Dress {
        uid: meta.uid(),
        gid: meta.gid(),
        mode: meta.mode() & 0o7777,
        acl,
        xattr,
    }
}

fn dress_of(path: &Path) -> Dress {
    let meta = fs::metadata(path).unwrap();
    Dress {
        uid: meta.uid(),
        gid: meta.gid(),
        mode: meta.mode() & 0o7777,
        acl: get_xattr(path, "system.posix_acl_access").is_some_and(|v| v == acl_bytes()),
        xattr: get_xattr(path, "user.team").is_some_and(|v| v == b"ops"),
    }
}

/// Put the old target back, a new inode with the same dress, and no reload pending (so every
/// run makes the same syscalls).
fn reset(path: &Path) -> Dress {
    let _ = fs::remove_file(path.with_file_name(".app.env.credshim.reload-pending"));
    let _ = fs::remove_file(path);
    fs::write(path, OLD).unwrap();
    dress(path)
}

fn errno_text(errno: i32) -> String {
    io::Error::from_raw_os_error(errno).to_string()
}

// ---------------------------------------------------------------------------------------------
// 1. Syscall order and argv.

#[test]
fn syscall_order_lock_temp_metadata_write_fsync_rename_fsync_dir_reload_unlock() {
    if !have_strace() {
        return skip("strace is not installed (Debian package strace)");
    }
    let secret = new_secret();
    let t = rotation(&secret);
    let want = dress(&t.path("app.env"));
    let log = t.path("strace.log");
    let ran = run_under(&t, &refs(&strace(&log, &["-f", "-v", "-s", "4096"])));
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let target = t.path("app.env");
    assert_eq!(fs::read_to_string(&target).unwrap(), new_text(&secret));
    assert_eq!(
        dress_of(&target),
        want,
        "the new file's owner, mode, ACL, xattr"
    );

    let all = read_trace(&log);
    let main = all[0].pid;
    // credshim's own calls, and where each stands in the whole log.
    let (places, calls): (Vec<usize>, Vec<Call>) = all
        .iter()
        .enumerate()
        .filter(|(_, c)| c.pid == main)
        .map(|(i, c)| (i, c.clone()))
        .unzip();
    let w = write_path(&calls);
    let at = |i: usize| format!("{}({}) = {}", calls[i].name, calls[i].args, calls[i].ret);

    assert!(w.flock < w.tmp_open, "temp opened before the lock");
    let open = &calls[w.tmp_open];
    assert!(
        open.args.contains("O_CREAT") && open.args.contains("O_EXCL"),
        "temp not opened O_CREAT|O_EXCL: {}",
        at(w.tmp_open)
    );
    assert!(
        open.args.ends_with(", 0600"),
        "temp not created 0600: {}",
        at(w.tmp_open)
    );
    assert!(
        !calls[w.tmp_open..w.first_write]
            .iter()
            .any(|c| c.on("close", w.tmp_fd)),
        "the temp fd was closed before its write"
    );

    // Owner, mode, ACL and xattrs on the temp fd, all before the first byte.
    let before_write = |what: &str, pred: &dyn Fn(&Call) -> bool| {
        let i = find(&calls, w.tmp_open, what, pred);
        assert!(i < w.first_write, "{what} after the first write: {}", at(i));
        assert!(calls[i].ok(), "{what} failed: {}", at(i));
    };
    if is_root() {
        before_write("fchown", &|c| c.on("fchown", w.tmp_fd));
    }
    before_write("fchmod 0640", &|c| {
        c.on("fchmod", w.tmp_fd) && c.args.ends_with("0640")
    });
    if want.acl {
        before_write("fsetxattr of the ACL", &|c| {
            c.on("fsetxattr", w.tmp_fd) && c.args.contains("\"system.posix_acl_access\"")
        });
    }
    if want.xattr {
        before_write("fsetxattr user.team", &|c| {
            c.on("fsetxattr", w.tmp_fd) && c.args.contains("\"user.team\"")
        });
    }
    // Nothing sets the temp's metadata after its data, nor writes it after the fsync.
    for (i, c) in calls.iter().enumerate().skip(w.first_write) {
        if c.fd() == Some(w.tmp_fd) && i < w.rename {
            assert!(
                !matches!(c.name.as_str(), "fchown" | "fchmod" | "fsetxattr"),
                "metadata after the write: {}",
                at(i)
            );
            assert!(
                !(c.name == "write" && i > w.tmp_fsync),
                "write after the fsync: {}",
                at(i)
            );
        }
    }

    assert!(w.first_write < w.tmp_fsync && calls[w.tmp_fsync].ok());
    let fsyncs = (w.tmp_open..w.rename)
        .filter(|&i| calls[i].on("fsync", w.tmp_fd))
        .count();
    assert_eq!(fsyncs, 1, "fsyncs of the temp file");
    assert!(
        w.tmp_fsync < w.rename && calls[w.rename].ok(),
        "{}",
        at(w.rename)
    );
    assert!(w.dir_open < w.rename && w.rename < w.dir_fsync);
    assert!(calls[w.dir_fsync].ok(), "{}", at(w.dir_fsync));
    assert!(
        w.dir_fsync < w.unlock,
        "unlocked before the directory fsync"
    );

    // Across processes (the log interleaves them in order): the mint runs under the lock, the
    // reload after the directory fsync and before the unlock.
    let place = |c: &Call| all.iter().position(|a| std::ptr::eq(a, c)).unwrap();
    let global = |i: usize| places[i];
    // The children's execve (credshim's own argv names the mint and the reload too).
    let execs: Vec<&Call> = all
        .iter()
        .filter(|c| c.name == "execve" && c.pid != main)
        .collect();
    let mint = execs
        .iter()
        .find(|c| c.args.contains("/mint\""))
        .expect("the mint's execve");
    let reload = execs
        .iter()
        .find(|c| c.args.contains("\"./reload\""))
        .expect("the reload's execve");
    assert!(place(mint) > global(w.flock), "mint before the lock");
    assert!(
        place(reload) > global(w.dir_fsync),
        "reload before the directory fsync"
    );
    assert!(
        place(reload) < global(w.unlock),
        "unlocked before the reload"
    );

    // The secret went through the trace (the mint's output), but never through an execve.
    assert!(
        all.iter().any(|c| c.args.contains(&secret)),
        "the trace never shows the secret: the check below would prove nothing"
    );
    for c in &execs {
        // Name the program only: the rest holds the whole environment.
        let program = c.args.split(',').next().unwrap_or_default();
        assert!(
            !c.args.contains(&secret),
            "the argv or environment of execve({program}) carries the secret"
        );
    }
    eprintln!(
        "order: lock fd {} at #{}, temp fd {} opened at #{}, written at #{}, fsync #{}, rename \
         #{}, dir fd {} fsync #{}, unlock #{}; {} execve checked",
        w.lock_fd,
        w.flock,
        w.tmp_fd,
        w.tmp_open,
        w.first_write,
        w.tmp_fsync,
        w.rename,
        w.dir_fd,
        w.dir_fsync,
        w.unlock,
        execs.len()
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Crash at every step.

/// Trace one normal run of `t` (main thread only) and put the target back.
fn baseline(t: &Test) -> Vec<Call> {
    let log = t.path("baseline.log");
    let ran = run_under(t, &refs(&strace(&log, &[])));
    assert_eq!(ran.code, Some(0), "baseline run: {}", ran.stderr);
    reset(&t.path("app.env"));
    read_trace(&log)
}

/// The target after a run that may have been killed: the old file or the new one, whole.
#[track_caller]
fn old_or_new(t: &Test, secret: &str, want: &Dress, when: &str) -> bool {
    let target = t.path("app.env");
    let text = fs::read_to_string(&target).unwrap_or_else(|e| panic!("{when}: target: {e}"));
    let is_new = text == new_text(secret);
    assert!(is_new || text == OLD, "{when}: torn target:\n{text}");
    let token = dotenvy::from_read_iter(text.as_bytes())
        .map(Result::unwrap)
        .find(|(k, _)| k == "TOKEN")
        .map(|(_, v)| v);
    let expected = if is_new { secret } else { "old-token-value" };
    assert_eq!(token.as_deref(), Some(expected), "{when}: TOKEN reads back");
    assert_eq!(&dress_of(&target), want, "{when}: owner, mode, ACL, xattr");
    is_new
}

#[test]
fn a_kill_at_any_syscall_after_the_lock_leaves_the_old_or_the_new_file() {
    if !have_strace() {
        return skip("strace is not installed (Debian package strace)");
    }
    let secret = new_secret();
    let t = rotation(&secret);
    let want = dress(&t.path("app.env"));
    let calls = baseline(&t);
    let w = write_path(&calls);
    // (syscall, its n for `when=n`, whether it is on the write path, which must be reached)
    let points: Vec<(String, usize, bool)> = (w.flock + 1..calls.len())
        .map(|i| {
            let on_path = (w.tmp_open..=w.dir_fsync).contains(&i);
            (calls[i].name.clone(), nth(&calls, i), on_path)
        })
        .collect();
    assert!(
        points.len() > 20,
        "too few syscalls after the lock: {calls:#?}"
    );
    let log = t.path("kill.log");
    let (mut reached, mut old, mut new) = (0, 0, 0);
    for (name, n, on_path) in &points {
        let when = format!("killed at {name} #{n}");
        let inject = format!("inject={name}:signal=KILL:when={n}");
        let ran = run_under(&t, &refs(&strace(&log, &["-e", &inject])));
        if ran.signal == Some(libc::SIGKILL) {
            reached += 1;
        } else {
            // Not reached: a count that differs between runs (a wait loop); the run is whole.
            assert!(
                !on_path,
                "{when}: the write path ran differently from the baseline"
            );
            assert_eq!(ran.code, Some(0), "{when}: {}", ran.stderr);
        }
        if old_or_new(&t, &secret, &want, &when) {
            new += 1;
        } else {
            old += 1;
        }
        let next = run_plain(&t);
        assert_eq!(next.code, Some(0), "{when}, the next run: {}", next.stderr);
        assert!(old_or_new(&t, &secret, &want, &when), "{when}: next run");
        let left = temps(t.dir.path());
        assert!(left.is_empty(), "{when}: temp files left: {left:?}");
        reset(&t.path("app.env"));
    }
    eprintln!(
        "crash: {} kill points after the lock, {reached} reached; {old} left the old file, \
         {new} the new one",
        points.len()
    );
    // The kill points before the rename must leave the old file, those after it the new one:
    // both outcomes seen proves the loop really stopped the run on either side.
    assert!(old > 0 && new > 0, "old {old}, new {new}");
    assert!(
        reached * 2 >= points.len(),
        "only {reached} of {} kill points reached",
        points.len()
    );
}

/// Regression: a run killed after the rename but before its reload left the new credential in
/// place and the application never told: the next run found the file unchanged and did not
/// reload (no marker had been left), so the application kept the old credential until it died.
#[test]
fn a_kill_between_the_rename_and_the_reload_is_not_forgotten() {
    if !have_strace() {
        return skip("strace is not installed (Debian package strace)");
    }
    let secret = new_secret();
    let t = rotation(&secret);
    let want = dress(&t.path("app.env"));
    let calls = baseline(&t);
    let w = write_path(&calls);
    let _ = fs::remove_file(t.path("log"));
    // Killed at the directory's fsync: the rename is done, the reload not started.
    let inject = format!("inject=fsync:signal=KILL:when={}", nth(&calls, w.dir_fsync));
    let ran = run_under(&t, &refs(&strace(&t.path("kill.log"), &["-e", &inject])));
    assert_eq!(ran.signal, Some(libc::SIGKILL), "{}", ran.stderr);
    assert!(old_or_new(&t, &secret, &want, "killed after the rename"));
    let next = run_plain(&t);
    assert_eq!(next.code, Some(0), "{}", next.stderr);
    let log = fs::read_to_string(t.path("log")).unwrap_or_default();
    assert!(
        log.lines().any(|l| l == "reload"),
        "the new credential is in place but no run reloaded the application; log:\n{log}"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Injected errors.

/// One syscall of the write path to fail.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Step {
    TmpOpen,
    Fchown,
    Fchmod,
    Write,
    TmpFsync,
    Rename,
    DirOpen,
    DirFsync,
}

const ERRNOS: [(&str, i32); 9] = [
    ("EIO", libc::EIO),
    ("ENOSPC", libc::ENOSPC),
    ("EDQUOT", libc::EDQUOT),
    ("EXDEV", libc::EXDEV),
    ("EBUSY", libc::EBUSY),
    ("EROFS", libc::EROFS),
    ("EINTR", libc::EINTR),
    ("EACCES", libc::EACCES),
    ("EPERM", libc::EPERM),
];

/// DESIGN's table for an errno at a step: the exit code, and whether the new file is in place.
fn expected(step: Step, errno: i32) -> (i32, bool) {
    let after_rename = step == Step::DirFsync;
    match errno {
        // The directory is opened when the target is found, before anything is minted.
        libc::EACCES if step == Step::DirOpen => (77, false),
        _ if step == Step::DirOpen => (74, false),
        // std retries EINTR on open and fsync, write_all on write; nothing retries a rename.
        libc::EINTR if step != Step::Rename => (0, true),
        // After the rename only durability is in question: 74, whatever the cause.
        _ if after_rename => (74, true),
        libc::EACCES | libc::EPERM => (77, false),
        _ => (73, false),
    }
}

fn call_of(calls: &[Call], w: &WritePath, step: Step) -> Option<usize> {
    let between = |name: &str| (w.tmp_open..w.first_write).find(|&i| calls[i].on(name, w.tmp_fd));
    match step {
        Step::TmpOpen => Some(w.tmp_open),
        Step::Fchown => between("fchown"),
        Step::Fchmod => between("fchmod"),
        Step::Write => Some(w.first_write),
        Step::TmpFsync => Some(w.tmp_fsync),
        Step::Rename => Some(w.rename),
        Step::DirOpen => Some(w.dir_open),
        Step::DirFsync => Some(w.dir_fsync),
    }
}

#[test]
fn injected_errors_give_the_tables_exit_code_and_leave_no_temp() {
    if !have_strace() {
        return skip("strace is not installed (Debian package strace)");
    }
    let secret = new_secret();
    let t = rotation(&secret);
    let want = dress(&t.path("app.env"));
    let calls = baseline(&t);
    let w = write_path(&calls);
    let mut cases: Vec<(Step, &str, i32)> = Vec::new();
    for step in [Step::TmpOpen, Step::Write, Step::TmpFsync, Step::Rename] {
        cases.extend(ERRNOS.iter().map(|&(name, e)| (step, name, e)));
    }
    for (name, e) in [
        ("EIO", libc::EIO),
        ("ENOSPC", libc::ENOSPC),
        ("EDQUOT", libc::EDQUOT),
        ("EROFS", libc::EROFS),
        ("EINTR", libc::EINTR),
    ] {
        cases.push((Step::DirFsync, name, e));
    }
    cases.push((Step::DirOpen, "EIO", libc::EIO));
    cases.push((Step::DirOpen, "EACCES", libc::EACCES));
    cases.push((Step::Fchmod, "EIO", libc::EIO));
    cases.push((Step::Fchmod, "EPERM", libc::EPERM));
    if is_root() {
        cases.push((Step::Fchown, "EPERM", libc::EPERM));
        cases.push((Step::Fchown, "EIO", libc::EIO));
    }
    let log = t.path("inject.log");
    let mut summary: Vec<String> = Vec::new();
    for &(step, errno_name, errno) in &cases {
        let i = call_of(&calls, &w, step).unwrap_or_else(|| panic!("no {step:?} in the trace"));
        let name = &calls[i].name;
        let what = format!("{errno_name} on {step:?} ({name} #{})", nth(&calls, i));
        let inject = format!("inject={name}:error={errno_name}:when={}", nth(&calls, i));
        let ran = run_under(&t, &refs(&strace(&log, &["-e", &inject])));
        let (code, in_place) = expected(step, errno);
        assert_eq!(
            ran.code,
            Some(code),
            "{what}: exit code; stderr:\n{}",
            ran.stderr
        );
        let run = read_trace(&log);
        let injected: Vec<&Call> = run
            .iter()
            .filter(|c| c.ret.contains("(INJECTED)"))
            .collect();
        assert_eq!(injected.len(), 1, "{what}: injected calls: {injected:#?}");
        let hit = injected[0];
        let intended = match step {
            Step::TmpOpen => hit.args.contains(".credshim.") && hit.args.contains(".tmp\""),
            Step::Rename => hit.args.contains(".tmp\""),
            Step::DirOpen => hit.args.contains("O_DIRECTORY") && !hit.args.contains("O_PATH"),
            _ => hit.fd().is_some_and(|fd| {
                let tmp = w.tmp_fd;
                if step == Step::DirFsync {
                    fd == w.dir_fd
                } else {
                    fd == tmp
                }
            }),
        };
        assert!(intended, "{what}: the error hit another call: {hit:?}");
        assert_eq!(
            old_or_new(&t, &secret, &want, &what),
            in_place,
            "{what}: which file is in place"
        );
        let left = temps(t.dir.path());
        assert!(left.is_empty(), "{what}: temp files left: {left:?}");
        if code != 0 {
            let line = ran.stderr.trim_end();
            assert!(
                line.starts_with("credshim: ") && !line.contains('\n'),
                "{what}: not one line: {line}"
            );
            assert!(
                line.contains(&errno_text(errno)),
                "{what}: cause missing: {line}"
            );
            assert!(!line.contains(&secret), "{what}: the secret in the message");
        }
        if step == Step::TmpFsync && code != 0 {
            // A failed fsync is never retried: the kernel may have dropped the dirty pages, and
            // a second fsync would report success for data that is gone.
            let tmp_fd = run
                .iter()
                .find(|c| c.name == "openat" && c.args.contains(".tmp\""))
                .and_then(Call::ret_fd)
                .unwrap();
            let fsyncs = run.iter().filter(|c| c.on("fsync", tmp_fd)).count();
            assert_eq!(fsyncs, 1, "{what}: fsync of the temp retried");
        }
        if step == Step::Rename && errno == libc::EBUSY {
            assert!(
                ran.stderr.contains("--allow-in-place"),
                "{what}: {}",
                ran.stderr
            );
        }
        if in_place && code != 0 {
            assert!(
                ran.stderr.contains("in place but may not be durable"),
                "{what}: the message must say the new file is in place but may not be durable: {}",
                ran.stderr
            );
        }
        summary.push(format!("{errno_name}@{step:?}->{code}"));
        reset(&t.path("app.env"));
    }
    eprintln!("injected: {} errors: {}", cases.len(), summary.join(" "));
}

/// Regression: when the directory fsync after the rename failed, the run exited 74 with the new
/// credential in place but neither reloaded nor left the reload-pending marker, so no later run
/// (finding the file unchanged) ever reloaded the application.
#[test]
fn a_failed_directory_fsync_after_the_rename_still_gets_the_reload_done() {
    if !have_strace() {
        return skip("strace is not installed (Debian package strace)");
    }
    let secret = new_secret();
    let t = rotation(&secret);
    let want = dress(&t.path("app.env"));
    let calls = baseline(&t);
    let w = write_path(&calls);
    let _ = fs::remove_file(t.path("log"));
    let inject = format!("inject=fsync:error=EIO:when={}", nth(&calls, w.dir_fsync));
    let ran = run_under(&t, &refs(&strace(&t.path("inject.log"), &["-e", &inject])));
    assert_eq!(ran.code, Some(74), "{}", ran.stderr);
    assert!(old_or_new(&t, &secret, &want, "EIO on the directory fsync"));
    let next = run_plain(&t);
    assert_eq!(next.code, Some(0), "{}", next.stderr);
    let log = fs::read_to_string(t.path("log")).unwrap_or_default();
    assert!(
        log.lines().any(|l| l == "reload"),
        "the new credential is in place but no run reloaded the application; log:\n{log}"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Real faults.

/// A file system mounted on a fresh directory, unmounted (even on panic) before the directory
/// is removed.
struct Mounted {
    dir: TempDir,
}

impl Mounted {
    /// `mount <args> <fresh dir>`.
    fn new(args: &[&OsStr]) -> Result<Mounted, String> {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(args)
            .arg(dir.path())
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if out.status.success() {
            Ok(Mounted { dir })
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

/// Why a test that mounts cannot run here, if it cannot.
fn cannot_mount() -> Option<&'static str> {
    if !is_root() {
        Some("needs root to mount")
    } else if !works("mount", "--version") {
        Some("mount is not installed (Debian package mount)")
    } else {
        None
    }
}

#[test]
fn a_full_file_system_is_73_and_the_target_is_intact() {
    if let Some(why) = cannot_mount() {
        return skip(why);
    }
    let fs_ = match Mounted::new(&[
        "-t".as_ref(),
        "tmpfs".as_ref(),
        "-o".as_ref(),
        "size=64k".as_ref(),
        "tmpfs".as_ref(),
    ]) {
        Ok(m) => m,
        Err(e) => return skip(&format!("cannot mount a tmpfs: {e}")),
    };
    let target = fs_.path().join("app.env");
    fs::write(&target, OLD).unwrap();
    // Fill it: page by page until ENOSPC.
    let mut fill = fs::File::create(fs_.path().join("fill")).unwrap();
    let page = vec![0u8; 4096];
    while io::Write::write_all(&mut fill, &page).is_ok() {}
    drop(fill);
    let secret = new_secret();
    Test::new()
        .file("secret", &secret)
        .mint("cat \"$TEST_DIR/secret\"")
        .arg("--target")
        .arg(&target)
        .args(["--set", "TOKEN"])
        .run()
        .status(73)
        .stderr_has(&errno_text(libc::ENOSPC))
        .hides(&secret);
    assert_eq!(fs::read_to_string(&target).unwrap(), OLD);
    let left = temps(fs_.path());
    assert!(left.is_empty(), "temp files left: {left:?}");
}

#[test]
fn a_file_size_limit_is_a_clean_73_not_a_sigxfsz_death() {
    // The old file fits under the limit (1024 bytes with dash's 512-byte blocks, 2048 with
    // bash's), the new one does not: the write is cut short, then EFBIG.
    let secret = format!("{}{}", new_secret(), "x".repeat(3000));
    let old = format!("PAD={}\nTOKEN=old\n", "p".repeat(880));
    let done = Test::new()
        .file("app.env", &old)
        .file("secret", &secret)
        .mint("cat \"$TEST_DIR/secret\"")
        .args(["--target", "app.env", "--set", "TOKEN"])
        .wrap("ulimit -f 2; exec")
        .run();
    assert!(
        done.code.is_some(),
        "killed by a signal (SIGXFSZ?): {}",
        done.stderr
    );
    done.status(73)
        .stderr_has(&errno_text(libc::EFBIG))
        .hides(&secret)
        .file_is("app.env", &old)
        .no_temp();
}

#[test]
fn a_read_only_bind_mount_refuses_before_minting() {
    if let Some(why) = cannot_mount() {
        return skip(why);
    }
    let t = Test::new().file("rw/app.env", OLD).mint("echo new");
    let src = t.path("rw");
    let ro = match Mounted::new(&["--bind".as_ref(), src.as_os_str()]) {
        Ok(m) => m,
        Err(e) => return skip(&format!("cannot bind-mount: {e}")),
    };
    let remount = Command::new("mount")
        .args(["-o", "remount,bind,ro"])
        .arg(ro.path())
        .status()
        .unwrap();
    assert!(remount.success(), "remount read-only");
    let target = ro.path().join("app.env");
    // Nothing can be created beside the target, the new file included: 73, before minting.
    let done = t
        .arg("--target")
        .arg(&target)
        .args(["--set", "TOKEN"])
        .run()
        .status(73)
        .stderr_has(&errno_text(libc::EROFS))
        .log_is(&[]);
    assert_eq!(fs::read_to_string(&target).unwrap(), OLD);
    // Under systemd (INVOCATION_ID), the same line names the drop-in that fixes it.
    Test::new()
        .mint("echo new")
        .env("INVOCATION_ID", "0123456789abcdef")
        .arg("--target")
        .arg(&target)
        .args(["--set", "TOKEN"])
        .run()
        .status(73)
        .stderr_has(&format!("ReadWritePaths={}", ro.path().display()));
    drop(done);
    let left = temps(ro.path());
    assert!(left.is_empty(), "temp files left: {left:?}");
}

/// An immutable file in its own directory; `chattr -i` (even on panic) before the directory is
/// removed.
struct Immutable {
    dir: TempDir,
}

impl Immutable {
    fn file(&self) -> PathBuf {
        self.dir.path().join("app.env")
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(self.file()).status();
    }
}

fn fs_type(p: &Path) -> String {
    // SAFETY: statfs fills the zeroed struct; the path is NUL-terminated.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statfs(c_path(p).as_ptr(), &raw mut st) };
    if rc != 0 {
        return "unknown".into();
    }
    match st.f_type {
        0xEF53 => "ext2/3/4".into(),
        0x5846_5342 => "xfs".into(),
        0x9123_683E => "btrfs".into(),
        0x0102_1994 => "tmpfs".into(),
        0x794C_7630 => "overlayfs".into(),
        other => format!("type {other:#x}"),
    }
}

/// Regression: an immutable target (`chattr +i`) was found out only at the rename, after the
/// mint, and reported as a bare "Operation not permitted" that confuses even root.
#[test]
fn an_immutable_target_is_a_clear_error_and_intact() {
    if !is_root() {
        return skip("needs root for chattr +i");
    }
    if Command::new("chattr").output().is_err() {
        return skip("chattr is not installed (Debian package e2fsprogs)");
    }
    let imm = Immutable {
        dir: tempfile::tempdir().unwrap(),
    };
    fs::write(imm.file(), OLD).unwrap();
    let out = Command::new("chattr")
        .arg("+i")
        .arg(imm.file())
        .output()
        .unwrap();
    if !out.status.success() {
        // A property of the machine's file system, not a missing package: never required.
        return eprintln!(
            "skipped: chattr +i unsupported on {} ({}): {}",
            imm.dir.path().display(),
            fs_type(imm.dir.path()),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let done = Test::new()
        .mint("echo new")
        .arg("--target")
        .arg(imm.file())
        .args(["--set", "TOKEN"])
        .run();
    // Refused before minting, as DESIGN's table says for permission: 77, exactly.
    assert_eq!(done.code, Some(77), "{}", done.stderr);
    assert_eq!(fs::read_to_string(imm.file()).unwrap(), OLD);
    let left = temps(imm.dir.path());
    assert!(left.is_empty(), "temp files left: {left:?}");
    done.stderr_has("immutable").log_is(&[]);
}

/// credshim as nobody can run it: the build's binary, or a copy where the build tree is out of
/// nobody's reach.
fn nobody_bin(t: &Test) -> OsString {
    let can_run = Command::new("setpriv")
        .args(NOBODY_PREFIX[1..].iter().chain(&[BIN, "--version"]))
        .output()
        .is_ok_and(|o| o.status.success());
    if can_run {
        return BIN.into();
    }
    let copy = t.path("credshim");
    fs::copy(BIN, &copy).unwrap();
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).unwrap();
    copy.into()
}

const NOBODY_PREFIX: [&str; 5] = [
    "setpriv",
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "--",
];

/// A test dir nobody can enter, with a log nobody can append to.
fn for_nobody(t: Test) -> Test {
    fs::set_permissions(t.dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(t.path("log"), "").unwrap();
    fs::set_permissions(t.path("log"), fs::Permissions::from_mode(0o666)).unwrap();
    t
}

fn cannot_setpriv() -> Option<&'static str> {
    if !is_root() {
        Some("needs root to change user")
    } else if !works("setpriv", "--version") {
        Some("setpriv is not installed (Debian package util-linux)")
    } else {
        None
    }
}

fn run_as_nobody(t: Test) -> Done {
    let bin = nobody_bin(&t);
    let prefix: Vec<&OsStr> = NOBODY_PREFIX.iter().map(OsStr::new).collect();
    let out = command_under(&t, &prefix, Some(&bin))
        .output()
        .expect("run credshim");
    Done::new(
        t,
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn nobody_on_a_root_owned_file_is_77_and_nothing_changes() {
    if let Some(why) = cannot_setpriv() {
        return skip(why);
    }
    // (dir mode, file mode, whether the mint runs before the refusal)
    for (dir_mode, file_mode, mints) in [
        (0o755, 0o644, false),  // cannot create the lock
        (0o1777, 0o600, false), // lock created, the target unreadable
        (0o777, 0o644, true),   // readable and the dir writable: the temp cannot be given to root
    ] {
        let case = format!("dir {dir_mode:o}, file {file_mode:o}");
        let t = for_nobody(Test::new().file("d/app.env", OLD).mint("echo new"));
        fs::set_permissions(t.path("d"), fs::Permissions::from_mode(dir_mode)).unwrap();
        fs::set_permissions(t.path("d/app.env"), fs::Permissions::from_mode(file_mode)).unwrap();
        let done = run_as_nobody(t.args(["--target", "d/app.env", "--set", "TOKEN"]));
        assert_eq!(done.code, Some(77), "{case}: {}", done.stderr);
        assert_eq!(done.read("d/app.env"), OLD, "{case}");
        let meta = fs::metadata(done.path("d/app.env")).unwrap();
        assert_eq!((meta.uid(), meta.mode() & 0o7777), (0, file_mode), "{case}");
        assert_eq!(
            done.log().is_empty(),
            !mints,
            "{case}: mint ran: {:?}",
            done.log()
        );
        let left = temps(&done.path("d"));
        assert!(left.is_empty(), "{case}: temp files left: {left:?}");
    }
}

#[test]
fn a_non_root_run_refuses_to_give_itself_a_file_it_does_not_own() {
    if let Some(why) = cannot_setpriv() {
        return skip(why);
    }
    // nobody may write the file (0666) and its directory, but the file is uid 1000's: replacing
    // it by rename would make it nobody's. The temp's fchown to 1000 fails with EPERM: 77.
    let t = for_nobody(Test::new().file("d/app.env", OLD).mint("echo new"));
    std::os::unix::fs::chown(t.path("d"), Some(NOBODY), Some(NOBODY)).unwrap();
    std::os::unix::fs::chown(t.path("d/app.env"), Some(OWNER), Some(OWNER)).unwrap();
    fs::set_permissions(t.path("d/app.env"), fs::Permissions::from_mode(0o666)).unwrap();
    let done = run_as_nobody(t.args(["--target", "d/app.env", "--set", "TOKEN"]))
        .status(77)
        .stderr_has(&errno_text(libc::EPERM))
        .file_is("d/app.env", OLD);
    let meta = fs::metadata(done.path("d/app.env")).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (OWNER, OWNER, 0o666)
    );
    let left = temps(&done.path("d"));
    assert!(left.is_empty(), "temp files left: {left:?}");
}
