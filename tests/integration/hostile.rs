//! Guarantee 9 under attack: a root run on a directory that an unprivileged user owns.
//!
//! Each test adds a throwaway system user (`useradd`, removed again when the test ends), gives
//! them a directory, and lets them plant what they like there: symlinks to a root-only victim
//! file, hard links, FIFOs, devices, links at every side-file path, a directory link, their own
//! file in place of the target, and a `renameat2(RENAME_EXCHANGE)` swap loop running while root
//! rotates. For every attack the victim must stay byte-identical, no file in the user's directory
//! may hold any byte of it, and the run must end within `--deadline`. The legitimate layouts next
//! to them must keep working. Without root (or `useradd`, `setpriv`, `python3`) the tests print
//! `skipped:`; under `CREDSHIM_TEST_REQUIRE_ALL` (CI) they fail instead.

use crate::harness::{BIN, is_root, skip};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const VICTIM: &str = "root-only-victim-bytes-5d2c9e\n";
const DEADLINE: Duration = Duration::from_secs(10);

/// A system user that exists while this value does.
struct User {
    name: String,
    uid: u32,
    gid: u32,
}

impl User {
    fn add() -> Result<User, String> {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "cshim{}x{}",
            std::process::id() % 100_000,
            N.fetch_add(1, Ordering::SeqCst)
        );
        let out = Command::new("useradd")
            .args(["--system", "--no-create-home", "--user-group"])
            .args(["--shell", "/usr/sbin/nologin", &name])
            .output()
            .map_err(|e| format!("useradd: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "useradd failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let id = |flag: &str| -> u32 {
            let out = Command::new("id").args([flag, &name]).output().unwrap();
            String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
        };
        Ok(User {
            uid: id("-u"),
            gid: id("-g"),
            name,
        })
    }

    /// `sh -c script` as this user, with no other groups.
    fn sh(&self, script: &str) -> Output {
        let out = Command::new("setpriv")
            .args([
                &format!("--reuid={}", self.uid),
                &format!("--regid={}", self.gid),
                "--clear-groups",
                "--",
                "/bin/sh",
                "-c",
                script,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "as {}: {script}: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Write `script` to `path` and start it with /usr/bin/python3 as this user (stderr piped).
    fn python(&self, path: &Path, script: &str) -> std::process::Child {
        fs::write(path, script).unwrap();
        Command::new("setpriv")
            .args([
                &format!("--reuid={}", self.uid),
                &format!("--regid={}", self.gid),
                "--clear-groups",
                "/usr/bin/python3",
                p(path),
            ])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn chown(&self, p: &Path) {
        std::os::unix::fs::chown(p, Some(self.uid), Some(self.gid)).unwrap();
    }
}

impl Drop for User {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.name).output();
    }
}

fn missing_tools() -> Option<String> {
    if !is_root() {
        return Some("needs root (a root run against a user's directory)".into());
    }
    for (tool, arg) in [
        ("useradd", "--help"),
        ("setpriv", "--version"),
        ("python3", "-V"),
    ] {
        if Command::new(tool).arg(arg).output().is_err() {
            return Some(format!("{tool} is not installed"));
        }
    }
    None
}

/// A base directory (root, 0755) with a root-only vault holding the victim, and a directory
/// owned by the user.
struct Lab {
    _base: tempfile::TempDir,
    base: PathBuf,
    vault: PathBuf,
    victim: PathBuf,
    app: PathBuf,
    user: User,
    secret: String,
}

impl Lab {
    fn new() -> Result<Lab, String> {
        let user = User::add()?;
        let base_dir = tempfile::Builder::new()
            .prefix("credshim-hostile.")
            .tempdir()
            .unwrap();
        let base = base_dir.path().to_path_buf();
        fs::set_permissions(&base, fs::Permissions::from_mode(0o755)).unwrap();
        let vault = base.join("vault");
        fs::create_dir(&vault).unwrap();
        fs::set_permissions(&vault, fs::Permissions::from_mode(0o700)).unwrap();
        let victim = vault.join("victim");
        fs::write(&victim, VICTIM).unwrap();
        fs::set_permissions(&victim, fs::Permissions::from_mode(0o600)).unwrap();
        let app = base.join("app");
        fs::create_dir(&app).unwrap();
        fs::set_permissions(&app, fs::Permissions::from_mode(0o750)).unwrap();
        user.chown(&app);
        let secret = format!("minted-{:016x}", fastrand::u64(..));
        Ok(Lab {
            _base: base_dir,
            base,
            vault,
            victim,
            app,
            user,
            secret,
        })
    }

    /// A fresh app directory for the next attack.
    fn reset(&self) {
        fs::remove_dir_all(&self.app).unwrap();
        fs::create_dir(&self.app).unwrap();
        fs::set_permissions(&self.app, fs::Permissions::from_mode(0o750)).unwrap();
        self.user.chown(&self.app);
    }

    /// `credshim rotate` as root, with the lab's mint.
    fn rotate(&self, args: &[&str]) -> (Option<i32>, String, Duration) {
        let started = Instant::now();
        let out = Command::new(BIN)
            .arg("rotate")
            .args(args)
            .args(["--deadline", "10s", "--lock-timeout", "2s"])
            .args(["--", "printf", "%s", &self.secret])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            started.elapsed(),
        )
    }

    /// The guarantee, after any attack: the victim is intact, and nothing in the user's
    /// directory holds a byte of it.
    fn victim_is_safe(&self, what: &str) {
        let meta = fs::symlink_metadata(&self.victim).unwrap();
        assert!(meta.is_file(), "{what}: the victim is no longer a file");
        assert_eq!(
            fs::read_to_string(&self.victim).unwrap(),
            VICTIM,
            "{what}: the victim changed"
        );
        assert_eq!(
            (meta.uid(), meta.gid(), meta.mode() & 0o7777),
            (0, 0, 0o600),
            "{what}: the victim's owner or mode changed"
        );
        let names: Vec<_> = fs::read_dir(&self.vault).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "{what}: files appeared in the vault");
        for entry in walk(&self.app) {
            if !self.user_can_read(&entry) {
                continue;
            }
            let Ok(text) = fs::read(&entry) else { continue };
            assert!(
                !String::from_utf8_lossy(&text).contains(VICTIM.trim_end()),
                "{what}: {} holds the victim's bytes",
                entry.display()
            );
        }
    }
}

impl Lab {
    /// Whether the user's permission bits let them read `path` (they own every directory on
    /// the way inside the app directory).
    fn user_can_read(&self, path: &Path) -> bool {
        let Ok(m) = fs::symlink_metadata(path) else {
            return false;
        };
        let mode = m.mode();
        (m.uid() == self.user.uid && mode & 0o400 != 0)
            || (m.gid() == self.user.gid && mode & 0o040 != 0)
            || mode & 0o004 != 0
    }
}

/// Every regular file under `dir`, without following links.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            out.extend(walk(&e.path()));
        } else if t.is_file() {
            out.push(e.path());
        }
    }
    out
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// One attack: what the user (or, for what the kernel no longer lets users do, root on their
/// behalf) plants, the run's arguments, and the exit codes that are acceptable.
struct Attack {
    name: &'static str,
    /// Run as the user first (their own target, say).
    before: Option<String>,
    plant: String,
    as_root: bool,
    args: Vec<String>,
    codes: &'static [i32],
}

#[test]
fn hostile_directory_battery() {
    if let Some(why) = missing_tools() {
        return skip(&why);
    }
    let lab = Lab::new().unwrap();
    let app = p(&lab.app).to_string();
    let victim = p(&lab.victim).to_string();
    let vault = p(&lab.vault).to_string();
    let env = format!("{app}/.env");
    let set = || {
        vec![
            "--target".to_string(),
            env.clone(),
            "--set".into(),
            "K".into(),
        ]
    };
    let with = |extra: &[&str]| {
        let mut a = set();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let own_env = format!("printf 'K=old\\n' > {env}; chmod 600 {env}");
    let attacks = vec![
        Attack {
            name: "target is a link to a root-only file",
            before: None,
            plant: format!("ln -s {victim} {env}"),
            as_root: false,
            args: set(),
            codes: &[77],
        },
        Attack {
            name: "raw target is a link to a root-only file",
            before: None,
            plant: format!("ln -s {victim} {app}/token"),
            as_root: false,
            args: vec![
                "--target".into(),
                format!("{app}/token"),
                "--format".into(),
                "raw".into(),
                "--set".into(),
                "-".into(),
            ],
            codes: &[77],
        },
        Attack {
            name: "metrics file is a link to a root-only file",
            before: None,
            plant: format!("{own_env}; ln -s {victim} {app}/m.prom"),
            as_root: false,
            args: with(&["--metrics-file", &format!("{app}/m.prom")]),
            codes: &[0, 77],
        },
        Attack {
            name: "a directory on the way is a link into the vault (--create)",
            before: None,
            plant: format!("ln -s {vault} {app}/sub"),
            as_root: false,
            args: vec![
                "--target".into(),
                format!("{app}/sub/new.env"),
                "--set".into(),
                "K".into(),
                "--create".into(),
            ],
            codes: &[77],
        },
        Attack {
            name: "lock path is a link to a root-only file",
            before: None,
            plant: format!("{own_env}; ln -s {victim} {app}/..env.credshim.lock"),
            as_root: false,
            args: set(),
            codes: &[77],
        },
        Attack {
            name: "marker path is a link to a root-only file",
            before: None,
            plant: format!("{own_env}; ln -s {victim} {app}/..env.credshim.reload-pending"),
            as_root: false,
            args: with(&["--reload", "true"]),
            codes: &[0],
        },
        Attack {
            name: "temp-file name is a link to a root-only file (the sweep)",
            before: None,
            plant: format!("{own_env}; ln -s {victim} {app}/..env.credshim.AAAAAAAAAA.tmp"),
            as_root: false,
            args: set(),
            codes: &[0],
        },
        Attack {
            name: "target is a hard link to a root-only file",
            before: None,
            plant: format!("ln {victim} {env}"),
            as_root: true,
            args: set(),
            // 77: the run, as the user, cannot even open it; 66 where it could.
            codes: &[66, 77],
        },
        Attack {
            name: "lock path is a hard link to a root-only file",
            before: Some(own_env.clone()),
            plant: format!("ln {victim} {app}/..env.credshim.lock"),
            as_root: true,
            args: set(),
            codes: &[77],
        },
        Attack {
            name: "target is a FIFO",
            before: None,
            plant: format!("mkfifo {env}"),
            as_root: false,
            args: set(),
            codes: &[66],
        },
        Attack {
            name: "metrics file is a FIFO",
            before: None,
            plant: format!("{own_env}; mkfifo {app}/m.prom"),
            as_root: false,
            args: with(&["--metrics-file", &format!("{app}/m.prom")]),
            codes: &[66],
        },
        Attack {
            name: "target is a device",
            before: None,
            plant: format!("mknod {env} c 1 3"),
            as_root: true,
            args: set(),
            codes: &[66],
        },
        Attack {
            name: "metrics file is a device",
            before: Some(own_env.clone()),
            plant: format!("mknod {app}/m.prom c 1 3"),
            as_root: true,
            args: with(&["--metrics-file", &format!("{app}/m.prom")]),
            codes: &[66],
        },
        Attack {
            name: "the directory is group-writable",
            before: None,
            plant: format!("{own_env}; chmod 0770 {app}"),
            as_root: false,
            args: set(),
            codes: &[77],
        },
        Attack {
            name: "the directory is world-writable",
            before: None,
            plant: format!("{own_env}; chmod 0777 {app}"),
            as_root: false,
            args: set(),
            codes: &[77],
        },
    ];
    let mut report = Vec::new();
    for a in &attacks {
        lab.reset();
        if let Some(script) = &a.before {
            lab.user.sh(script);
        }
        if a.as_root {
            // Done by root for the user: the kernel no longer lets users hard-link others'
            // files (protected_hardlinks) or make devices.
            let out = Command::new("/bin/sh")
                .args(["-c", &a.plant])
                .output()
                .unwrap();
            assert!(out.status.success(), "{}: plant failed", a.name);
        } else {
            lab.user.sh(&a.plant);
        }
        let args: Vec<&str> = a.args.iter().map(String::as_str).collect();
        let (code, stderr, took) = lab.rotate(&args);
        assert!(
            code.is_some_and(|c| a.codes.contains(&c)),
            "{}: exit {code:?}, expected one of {:?}; stderr: {stderr}",
            a.name,
            a.codes
        );
        assert!(took < DEADLINE, "{}: ran {took:?}, past --deadline", a.name);
        assert!(
            !stderr.contains(&lab.secret),
            "{}: the secret in stderr",
            a.name
        );
        lab.victim_is_safe(a.name);
        report.push(format!(
            "{}: exit {} in {} ms{}",
            a.name,
            code.unwrap(),
            took.as_millis(),
            stderr
                .lines()
                .next()
                .map(|l| format!(" ({l})"))
                .unwrap_or_default()
        ));
    }
    for line in &report {
        eprintln!("hostile: {line}");
    }
    eprintln!(
        "hostile: {} attacks, victim intact after each",
        report.len()
    );
}

/// The user replaces the target with a file of their own: the run writes into it (it is theirs
/// now, they could read it anyway), and the root-only file it replaced stays unread.
#[test]
fn a_target_replaced_by_the_users_own_file_reveals_nothing_of_the_old_one() {
    if let Some(why) = missing_tools() {
        return skip(&why);
    }
    let lab = Lab::new().unwrap();
    let env = lab.app.join(".env");
    fs::write(&env, format!("K={}", VICTIM.trim_end())).unwrap();
    fs::set_permissions(&env, fs::Permissions::from_mode(0o600)).unwrap();
    let envs = p(&env);
    lab.user.sh(&format!(
        "mv {envs} {envs}.root && printf 'K=mine\\n' > {envs} && chmod 644 {envs}"
    ));
    let (code, stderr, _) = lab.rotate(&["--target", envs, "--set", "K"]);
    assert_eq!(code, Some(0), "{stderr}");
    let meta = fs::metadata(&env).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (lab.user.uid, 0o644));
    // The root-only file the user moved away is untouched and still root's.
    let old = fs::metadata(format!("{envs}.root")).unwrap();
    assert_eq!((old.uid(), old.mode() & 0o777), (0, 0o600));
    let readable = lab.user.sh(&format!("cat {envs}"));
    assert!(!String::from_utf8_lossy(&readable.stdout).contains(VICTIM.trim_end()));
}

/// `renameat2(RENAME_EXCHANGE)` of the target and a link to the victim, in a loop, as the user,
/// while root rotates again and again.
#[test]
fn a_rename_exchange_swap_loop_never_reaches_the_victim() {
    if let Some(why) = missing_tools() {
        return skip(&why);
    }
    let lab = Lab::new().unwrap();
    let env = lab.app.join(".env");
    let envs = p(&env).to_string();
    let app = p(&lab.app).to_string();
    lab.user.sh(&format!(
        "printf 'K=old\\n' > {envs}; chmod 600 {envs}; ln -s {} {app}/evil",
        p(&lab.victim)
    ));
    // The swapper: ctypes renameat2, bounded in time; stops by itself.
    let swapper = format!(
        "import ctypes, os, time\n\
         libc = ctypes.CDLL(None, use_errno=True)\n\
         a, b = b'{envs}', b'{app}/evil'\n\
         end = time.time() + 20\n\
         n = 0\n\
         while time.time() < end and not os.path.exists('{app}/stop'):\n\
         \x20   libc.renameat2(-100, a, -100, b, 2)\n\
         \x20   n += 1\n\
         open('{app}/swaps', 'w').write(str(n))\n"
    );
    let child = lab.user.python(&lab.base.join("swap.py"), &swapper);
    let mut outcomes = std::collections::BTreeMap::<i32, u32>::new();
    let runs = 150;
    for _ in 0..runs {
        let (code, stderr, took) = lab.rotate(&["--target", &envs, "--set", "K"]);
        assert!(took < DEADLINE, "a run took {took:?}");
        assert!(!stderr.contains(&lab.secret));
        *outcomes.entry(code.unwrap_or(-1)).or_default() += 1;
    }
    lab.user.sh(&format!("touch {app}/stop"));
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "swapper: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    lab.victim_is_safe("swap loop");
    let swaps = fs::read_to_string(lab.app.join("swaps")).unwrap_or_default();
    eprintln!("swap loop: {runs} runs against {swaps} swaps: exit codes {outcomes:?}");
    assert!(
        outcomes.keys().all(|c| [0, 65, 66, 77].contains(c)),
        "unexpected exit codes: {outcomes:?}"
    );
}

#[test]
fn legitimate_layouts_keep_working() {
    if let Some(why) = missing_tools() {
        return skip(&why);
    }
    let lab = Lab::new().unwrap();
    let u = &lab.user;
    let check = |what: &str, path: &Path, args: &[&str], owner: (u32, u32), mode: u32| {
        let mut all = vec!["--target", p(path), "--set", "K"];
        all.extend_from_slice(args);
        let (code, stderr, _) = lab.rotate(&all);
        assert_eq!(code, Some(0), "{what}: {stderr}");
        let text = fs::read_to_string(path).unwrap();
        assert!(text.contains(&lab.secret), "{what}: not rotated: {text}");
        let meta = fs::metadata(path).unwrap();
        assert_eq!(
            (meta.uid(), meta.gid(), meta.mode() & 0o7777),
            (owner.0, owner.1, mode),
            "{what}: owner or mode not kept"
        );
        eprintln!("legitimate: {what}: ok");
    };
    // Root on a directory owned by the app user, the file app:app 0600.
    let env = lab.app.join(".env");
    u.sh(&format!("printf 'K=old\\n' > {0}; chmod 600 {0}", p(&env)));
    check(
        "app:app 0600 in the app's directory",
        &env,
        &[],
        (u.uid, u.gid),
        0o600,
    );
    // root:app 0640 in the same directory.
    let shared = lab.app.join("shared.env");
    fs::write(&shared, "K=old\n").unwrap();
    std::os::unix::fs::chown(&shared, Some(0), Some(u.gid)).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o640)).unwrap();
    check(
        "root:app 0640 in the app's directory",
        &shared,
        &[],
        (0, u.gid),
        0o640,
    );
    // Root in a root-only directory.
    let root_env = lab.vault.join("root.env");
    fs::write(&root_env, "K=old\n").unwrap();
    check(
        "root in a root-only directory",
        &root_env,
        &[],
        (0, 0),
        0o644,
    );
    fs::remove_file(&root_env).unwrap();
    // A symlink root made, written through; the link stays a link.
    let link = lab.base.join("link.env");
    std::os::unix::fs::symlink(&env, &link).unwrap();
    check("a root-made symlink", &link, &[], (u.uid, u.gid), 0o600);
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // ~/.aws/credentials: the user's home and a directory in it, both theirs.
    let home = lab.app.join("home");
    u.sh(&format!(
        "mkdir -p {0}/.aws && printf 'K=old\\n' > {0}/.aws/c.env && chmod 600 {0}/.aws/c.env",
        p(&home)
    ));
    check(
        "a file two levels into the user's home",
        &home.join(".aws/c.env"),
        &[],
        (u.uid, u.gid),
        0o600,
    );
    // A private subdirectory of /tmp, root's and the user's.
    let tmp = tempfile::Builder::new()
        .prefix("credshim-legit.")
        .tempdir()
        .unwrap();
    let tmp_env = tmp.path().join("t.env");
    check(
        "root in a private /tmp subdirectory (--create)",
        &tmp_env,
        &["--create"],
        (0, 0),
        0o600,
    );
    let user_tmp = tmp.path().join("u");
    fs::create_dir(&user_tmp).unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    u.chown(&user_tmp);
    u.sh(&format!(
        "printf 'K=old\\n' > {0}/u.env; chmod 600 {0}/u.env",
        p(&user_tmp)
    ));
    check(
        "root in the user's /tmp subdirectory",
        &user_tmp.join("u.env"),
        &[],
        (u.uid, u.gid),
        0o600,
    );
    // A non-root user in its own directory, and in a root-owned 0777 directory (the
    // Kubernetes emptyDir): an unprivileged run skips the directory check.
    let empty_dir = lab.base.join("emptydir");
    fs::create_dir(&empty_dir).unwrap();
    fs::set_permissions(&empty_dir, fs::Permissions::from_mode(0o777)).unwrap();
    for dir in [&lab.app, &empty_dir] {
        let f = dir.join("own.env");
        let out = u.sh(&format!(
            "printf 'K=old\\n' > {f}; chmod 600 {f}; {BIN} rotate --target {f} --set K -- printf %s {s}; echo $?",
            f = p(&f),
            s = lab.secret
        ));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            stdout.trim(),
            "0",
            "non-root in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(fs::read_to_string(&f).unwrap().contains(&lab.secret));
        eprintln!("legitimate: non-root in {}: ok", dir.display());
    }
}

/// Regression (review): the temp file was created as the directory's owner and then given the
/// target's owner, so the owner could open it in between and keep a writable descriptor to what
/// became a `root:app 0640` target. A racer, as the user, now tries to open every temp file for
/// writing while strace holds five runs at the temp file's fchown: it must never succeed, and the target holds only what was minted.
#[test]
fn the_directory_owner_never_gets_a_writable_descriptor_to_the_new_file() {
    if let Some(why) = missing_tools() {
        return skip(&why);
    }
    let lab = Lab::new().unwrap();
    let env = lab.app.join(".env");
    fs::write(&env, "K=old\n").unwrap();
    std::os::unix::fs::chown(&env, Some(0), Some(lab.user.gid)).unwrap();
    fs::set_permissions(&env, fs::Permissions::from_mode(0o640)).unwrap();
    let app = p(&lab.app).to_string();
    let racer = format!(
        "import os, time\n\
         end = time.time() + 30\n\
         opened = 0\n\
         tries = 0\n\
         open('{app}/ready', 'w').close()\n\
         while time.time() < end and not os.path.exists('{app}/stop'):\n\
         \x20   for n in os.listdir('{app}'):\n\
         \x20       if n.startswith('..env.credshim.') and n.endswith('.tmp'):\n\
         \x20           tries += 1\n\
         \x20           try:\n\
         \x20               fd = os.open('{app}/' + n, os.O_RDWR)\n\
         \x20               opened += 1\n\
         \x20               os.close(fd)\n\
         \x20           except OSError:\n\
         \x20               pass\n\
         open('{app}/racer', 'w').write('%d %d' % (tries, opened))\n"
    );
    let child = lab.user.python(&lab.base.join("racer.py"), &racer);
    let ready = lab.app.join("ready");
    let waited = Instant::now();
    while !ready.exists() && waited.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    // strace holds each run for 300 ms at the fchown that gives the temp file the target's
    // owner: the moment the racer needs.
    for _ in 0..5 {
        let out = Command::new("strace")
            .args([
                "-f",
                "-o",
                "/dev/null",
                "-e",
                "inject=fchown:delay_enter=300000",
                BIN,
            ])
            .args([
                "rotate",
                "--target",
                p(&env),
                "--set",
                "K",
                "--",
                "printf",
                "%s",
                &lab.secret,
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    lab.user.sh(&format!("touch {app}/stop"));
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "racer: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result = fs::read_to_string(lab.app.join("racer")).unwrap();
    let (tries, opened) = result.split_once(' ').unwrap();
    eprintln!("temp race: {tries} open attempts on temp files during 5 held runs, {opened} opened");
    assert!(
        tries.parse::<u32>().unwrap() > 0,
        "the racer never saw a temp file: no race ran"
    );
    assert_eq!(opened, "0", "the user opened a temp file for writing");
    let meta = fs::metadata(&env).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o777),
        (0, lab.user.gid, 0o640)
    );
    assert_eq!(
        fs::read_to_string(&env).unwrap(),
        format!("K={}\n", lab.secret)
    );
}

/// Regression (review): a directory someone may write through a POSIX ACL passed as "not
/// group- or world-writable".
#[test]
fn a_directory_writable_through_an_acl_is_77() {
    if let Some(why) = missing_tools() {
        return skip(&why);
    }
    if Command::new("setfacl").arg("--version").output().is_err() {
        return skip("setfacl is not installed (Debian package acl)");
    }
    let lab = Lab::new().unwrap();
    let dir = lab.base.join("acl");
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    let env = dir.join(".env");
    fs::write(&env, "K=old\n").unwrap();
    let out = Command::new("setfacl")
        .args(["-m", &format!("u:{}:rwx", lab.user.name), p(&dir)])
        .output()
        .unwrap();
    if !out.status.success() {
        return skip(&format!(
            "this file system takes no ACL: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let (code, stderr, _) = lab.rotate(&["--target", p(&env), "--set", "K"]);
    assert_eq!(code, Some(77), "{stderr}");
    assert!(stderr.contains("through its ACL"), "{stderr}");
    assert_eq!(fs::read_to_string(&env).unwrap(), "K=old\n");
    // A read-only ACL entry is no reason to refuse.
    Command::new("setfacl")
        .args(["-m", &format!("u:{}:rx", lab.user.name), p(&dir)])
        .status()
        .unwrap();
    let (code, stderr, _) = lab.rotate(&["--target", p(&env), "--set", "K"]);
    assert_eq!(code, Some(0), "{stderr}");
}

/// Regression (review): `check` as root read through the directory owner's symlink into a
/// root-only file, revealing whether a key exists and its expiry.
#[test]
fn check_as_root_does_not_read_through_the_owners_links() {
    if let Some(why) = missing_tools() {
        return skip(&why);
    }
    let lab = Lab::new().unwrap();
    let link = lab.app.join("link.env");
    lab.user
        .sh(&format!("ln -s {} {}", p(&lab.victim), p(&link)));
    let out = Command::new(BIN)
        .args([
            "check",
            "--target",
            p(&link),
            "--key",
            "root-only-victim-bytes-5d2c9e",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("as uid"), "{stdout}");
}

/// Regression (review): a file bigger than any credential file kept a root run far past
/// `--deadline` and could take gigabytes of memory.
#[test]
fn an_oversized_target_is_refused_at_once() {
    if let Some(why) = missing_tools() {
        return skip(&why);
    }
    let lab = Lab::new().unwrap();
    let env = lab.app.join(".env");
    lab.user.sh(&format!("truncate -s 3G {}", p(&env)));
    let (code, stderr, took) = lab.rotate(&["--target", p(&env), "--set", "K"]);
    assert_eq!(code, Some(65), "{stderr}");
    assert!(stderr.contains("larger than 16 MiB"), "{stderr}");
    assert!(took < Duration::from_secs(2), "{took:?}");
}

/// Regression (review): in a sticky, world-writable directory anyone could plant the reload
/// marker and make a root run execute `--reload` on an unchanged run.
#[test]
fn a_strangers_marker_in_a_sticky_directory_does_not_trigger_the_reload() {
    if let Some(why) = missing_tools() {
        return skip(&why);
    }
    let lab = Lab::new().unwrap();
    let public = lab.base.join("public");
    fs::create_dir(&public).unwrap();
    fs::set_permissions(&public, fs::Permissions::from_mode(0o1777)).unwrap();
    let env = public.join("root.env");
    fs::write(&env, format!("K={}\n", lab.secret)).unwrap();
    fs::set_permissions(&env, fs::Permissions::from_mode(0o600)).unwrap();
    lab.user.sh(&format!(
        "touch {}/.root.env.credshim.reload-pending",
        p(&public)
    ));
    let ran = public.join("reload-ran");
    let reload = format!("touch {}", p(&ran));
    let (code, stderr, _) = lab.rotate(&["--target", p(&env), "--set", "K", "--reload", &reload]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!ran.exists(), "the planted marker triggered the reload");
    assert!(stderr.contains("ignoring"), "{stderr}");
}

/// credshim is not dumpable: no core dump can carry a credential, and another process of the
/// same user cannot read its memory or environment through /proc.
#[test]
fn a_run_is_not_dumpable_so_its_user_cannot_read_its_memory() {
    if let Some(why) = missing_tools() {
        return skip(&why);
    }
    let lab = Lab::new().unwrap();
    let app = p(&lab.app).to_string();
    let out = lab.user.sh(&format!(
        "cd {app} && printf 'K=old\\n' > own.env && \
         printf '#!/bin/sh\\nif cat /proc/$PPID/environ >/dev/null 2>&1; then echo readable; else echo hidden; fi > {app}/seen\\nprintf tok\\n' > mint && \
         chmod +x mint && {BIN} rotate --target own.env --set K -- ./mint; echo $?"
    ));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
    assert_eq!(
        fs::read_to_string(lab.app.join("seen")).unwrap().trim(),
        "hidden"
    );
}

/// `--probe` (guarantee 11) may not become a tool for the directory's owner (guarantee 9): they
/// can swap the candidate for their own file between its writing and the probe's reading, and a
/// probe that sources it (`. "$CREDSHIM_CANDIDATE"`) then runs their commands. It must run them
/// with their rights, never root's. The attack is real: the user waits for the candidate and
/// renames a file of commands over it while the probe sleeps.
#[test]
fn a_swapped_probe_candidate_runs_with_the_directory_owners_rights_only() {
    if let Some(why) = missing_tools() {
        skip(&why);
        return;
    }
    let lab = Lab::new().unwrap();
    let target = lab.app.join(".env");
    fs::write(&target, "K=old\n").unwrap();
    lab.user.chown(&target);
    fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
    let ran_as = lab.app.join("ran-as");
    let script = format!(
        "import os, time\n\
         app = {app:?}\n\
         end = time.time() + 8\n\
         while time.time() < end:\n\
         \x20   for n in os.listdir(app):\n\
         \x20       if n.startswith('..env.credshim.') and n.endswith('.tmp'):\n\
         \x20           evil = os.path.join(app, 'evil')\n\
         \x20           open(evil, 'w').write('id -u > {ran_as}\\n')\n\
         \x20           os.rename(evil, os.path.join(app, n))\n\
         \x20           raise SystemExit(0)\n\
         \x20   time.sleep(0.005)\n\
         raise SystemExit(1)\n",
        app = p(&lab.app),
        ran_as = p(&ran_as),
    );
    let attacker = lab.user.python(&lab.app.join("attack.py"), &script);
    let (code, stderr, _) = lab.rotate(&[
        "--target",
        p(&target),
        "--set",
        "K",
        "--retries",
        "0",
        "-v",
        "--probe",
        "sleep 1; . \"$CREDSHIM_CANDIDATE\"",
    ]);
    let attacked = attacker.wait_with_output().unwrap();
    assert!(
        attacked.status.success(),
        "the swap did not happen: {stderr}"
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        fs::read_to_string(&ran_as).unwrap().trim(),
        lab.user.uid.to_string(),
        "the planted commands ran with another identity than the directory owner's"
    );
    assert!(
        stderr.contains(&format!("running probe command as {}", lab.user.name)),
        "{stderr}"
    );
    // What was written is credshim's own verified text, not the planted file.
    assert_eq!(
        fs::read_to_string(&target).unwrap(),
        format!("K={}\n", lab.secret)
    );
    let meta = fs::metadata(&target).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (lab.user.uid, 0o600));
    lab.victim_is_safe("a swapped probe candidate");
}

/// The candidate is never writable by group or others, whatever the target's mode: the probe
/// may read it with more rights than they have.
#[test]
fn the_probe_candidate_is_not_group_writable_even_when_the_target_is() {
    if let Some(why) = missing_tools() {
        skip(&why);
        return;
    }
    let lab = Lab::new().unwrap();
    let target = lab.app.join(".env");
    fs::write(&target, "K=old\n").unwrap();
    lab.user.chown(&target);
    fs::set_permissions(&target, fs::Permissions::from_mode(0o664)).unwrap();
    let (code, stderr, _) = lab.rotate(&[
        "--target",
        p(&target),
        "--set",
        "K",
        "--probe",
        "stat -c %a \"$CREDSHIM_CANDIDATE\" > \"$(dirname \"$CREDSHIM_CANDIDATE\")/mode\"",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        fs::read_to_string(lab.app.join("mode")).unwrap().trim(),
        "644"
    );
    assert_eq!(fs::metadata(&target).unwrap().mode() & 0o777, 0o664);
}

/// A probe run as the directory's owner runs what they plant (above), so it gets none of what
/// root was given for itself: a `VAULT_TOKEN` from a root-only `EnvironmentFile=` (the shipped
/// vault example's advice), root's AWS keys. Only the job file's own variables, `PATH` and the
/// locale pass. The probe here prints its whole environment where the user can read it.
#[test]
fn a_probe_run_as_the_directory_owner_gets_none_of_roots_own_environment() {
    if let Some(why) = missing_tools() {
        skip(&why);
        return;
    }
    let lab = Lab::new().unwrap();
    let target = lab.app.join(".env");
    fs::write(&target, "K=old\n").unwrap();
    lab.user.chown(&target);
    fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
    let job = lab.base.join("job.env");
    fs::write(&job, "PGHOST=db.example.com\n").unwrap();
    fs::set_permissions(&job, fs::Permissions::from_mode(0o600)).unwrap();
    let seen = lab.app.join("probe-env");
    let out = Command::new(BIN)
        .args([
            "rotate",
            "--job",
            p(&job),
            "--target",
            p(&target),
            "--set",
            "K",
        ])
        .args(["--deadline", "10s", "--retries", "0", "-v", "--probe"])
        .arg(format!("env > {}", p(&seen)))
        .args(["--", "printf", "%s", &lab.secret])
        .env("VAULT_TOKEN", "roots-own-vault-token-7f3a")
        .env("AWS_SECRET_ACCESS_KEY", "roots-own-aws-key-7f3a")
        .env("LC_ALL", "C.UTF-8")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let env = fs::read_to_string(&seen).unwrap();
    assert!(
        !env.contains("roots-own-"),
        "the probe, run as the directory's owner, saw root's own variables:\n{env}"
    );
    for wanted in [
        "PGHOST=db.example.com",
        "LC_ALL=C.UTF-8",
        "PATH=",
        &format!("USER={}", lab.user.name),
        "CREDSHIM_CANDIDATE=",
    ] {
        assert!(
            env.lines().any(|l| l.starts_with(wanted)),
            "{wanted}: {env}"
        );
    }
}

/// A target of a third user in the directory owner's directory: the owner can swap the
/// candidate, its owner can write it, so a probe as either runs what the other plants. It is
/// 77 before the mint runs.
#[test]
fn a_target_of_another_user_than_the_directory_owner_is_not_probed() {
    if let Some(why) = missing_tools() {
        skip(&why);
        return;
    }
    let lab = Lab::new().unwrap();
    let other = User::add().unwrap();
    fs::set_permissions(&lab.app, fs::Permissions::from_mode(0o755)).unwrap();
    let target = lab.app.join("b.env");
    fs::write(&target, "K=old\n").unwrap();
    other.chown(&target);
    fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).unwrap();
    let minted = lab.base.join("minted");
    let ran = lab.base.join("probed");
    let out = Command::new(BIN)
        .args(["rotate", "--target", p(&target), "--set", "K"])
        .args(["--deadline", "10s", "--retries", "0", "--probe"])
        .arg(format!("id -u > {}", p(&ran)))
        .args(["--", "sh", "-c"])
        .arg(format!("touch {}; printf x", p(&minted)))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(77), "{stderr}");
    assert!(stderr.contains("its directory to uid"), "{stderr}");
    assert!(!minted.exists(), "minted before refusing");
    assert!(!ran.exists(), "probed anyway");
    assert_eq!(fs::read_to_string(&target).unwrap(), "K=old\n");
    // The same without --probe is a rotation like any other.
    let (code, stderr, _) = lab.rotate(&["--target", p(&target), "--set", "K"]);
    assert_eq!(code, Some(0), "{stderr}");
}

/// A directory (and target) of a uid with no user entry, left in root's group by a plain
/// `chown 4xxxx`: the probe never gets group root, the overflow group instead.
#[test]
fn a_probe_user_without_an_entry_never_gets_group_root() {
    if let Some(why) = missing_tools() {
        skip(&why);
        return;
    }
    let lab = Lab::new().unwrap();
    let uid = (40_000..60_000).find(|&u| nix_free_uid(u)).unwrap();
    std::os::unix::fs::chown(&lab.app, Some(uid), Some(0)).unwrap();
    let target = lab.app.join(".env");
    fs::write(&target, "K=old\n").unwrap();
    std::os::unix::fs::chown(&target, Some(uid), Some(0)).unwrap();
    let seen = lab.app.join("ids");
    let (code, stderr, _) = lab.rotate(&[
        "--target",
        p(&target),
        "--set",
        "K",
        "--probe",
        &format!("id -u > {s}; id -g >> {s}; id -G >> {s}", s = p(&seen)),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let ids: Vec<String> = fs::read_to_string(&seen)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(ids, [uid.to_string(), "65534".into(), "65534".into()]);
}

/// Whether no user entry has `uid`.
fn nix_free_uid(uid: u32) -> bool {
    Command::new("getent")
        .args(["passwd", &uid.to_string()])
        .output()
        .is_ok_and(|o| !o.status.success())
}
