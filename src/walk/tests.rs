//! The unit tests of the walk: symlinks are followed to the real name; FIFOs, devices, loops
//! and dangling links are refused without blocking; a checked (privileged) walk refuses a
//! world-writable directory and accepts a sticky one with its own entry, which an unchecked
//! walk never looks at.

use super::*;

fn open(p: &Path, create: bool) -> Result<Found, WalkError> {
    resolve(
        p,
        Rules {
            check_dirs: false,
            create,
        },
    )
}

#[test]
fn follows_links_and_finds_the_real_name() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("real")).unwrap();
    std::fs::write(d.path().join("real/a.env"), "A=1\n").unwrap();
    std::os::unix::fs::symlink("real", d.path().join("dir")).unwrap();
    std::os::unix::fs::symlink("../real/a.env", d.path().join("real/b.env")).unwrap();
    let f = open(&d.path().join("dir/b.env"), false).unwrap();
    assert_eq!(f.name, "a.env");
    assert!(f.dir.path.ends_with("real"));
    assert!(f.via_link);
    assert!(f.file.is_some());
}

#[test]
fn fifos_devices_and_loops_are_refused_without_blocking() {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("fifo");
    rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, Mode::from_raw_mode(0o600)).unwrap();
    let err = open(&fifo, false).unwrap_err();
    assert!(err.to_string().contains("FIFO"), "{err}");
    let err = open(Path::new("/dev/null"), false).unwrap_err();
    assert!(err.to_string().contains("character device"), "{err}");
    let l = d.path().join("loop");
    std::os::unix::fs::symlink("loop", &l).unwrap();
    let err = open(&l, true).unwrap_err();
    assert!(err.to_string().contains("loop"), "{err}");
    let dangling = d.path().join("dangling");
    std::os::unix::fs::symlink("gone", &dangling).unwrap();
    let err = open(&dangling, true).unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[test]
fn world_writable_and_group_writable_dirs_are_refused_when_checking() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let ww = d.path().join("ww");
    std::fs::create_dir(&ww).unwrap();
    std::fs::set_permissions(&ww, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::write(ww.join("x.env"), "").unwrap();
    let check = Rules {
        check_dirs: true,
        create: false,
    };
    let err = resolve(&ww.join("x.env"), check).unwrap_err();
    assert!(matches!(err, WalkError::Untrusted(_)), "{err}");
    assert!(err.to_string().contains("writable by every user"), "{err}");
    // Unchecked (unprivileged), the same layout is fine.
    assert!(open(&ww.join("x.env"), false).is_ok());
    // Sticky, with an entry of our own: fine.
    std::fs::set_permissions(&ww, std::fs::Permissions::from_mode(0o1777)).unwrap();
    assert!(resolve(&ww.join("x.env"), check).is_ok());
}
