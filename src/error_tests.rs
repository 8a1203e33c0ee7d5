//! The exit-code table walked both ways, and the one-line shape of messages.

use super::*;

fn io_err() -> io::Error {
    io::Error::from_raw_os_error(libc::EIO)
}

/// Walks DESIGN.md's exit-code table: every code, and the variant that produces it.
#[test]
fn exit_codes_match_the_design_table() {
    let p = || PathBuf::from("/t/.env");
    let table: Vec<(Error, u8)> = vec![
        (Error::Usage("x".into()), 64),
        (
            Error::TargetParse {
                path: p(),
                reason: "x".into(),
            },
            65,
        ),
        (
            Error::NoInput {
                path: p(),
                reason: "x".into(),
            },
            66,
        ),
        (Error::Mint(MintFailure::new("x".into())), 69),
        (Error::Software("x".into()), 70),
        (Error::write("rename", p(), io_err()), 73),
        (Error::io("read", p(), io_err()), 74),
        (
            Error::LockBusy {
                path: p(),
                waited: Duration::from_secs(1),
            },
            75,
        ),
        (Error::DeadlineBeforeMint(Duration::from_secs(1)), 75),
        (Error::Protocol("x".into()), 76),
        (
            Error::io("read", p(), io::Error::from_raw_os_error(libc::EACCES)),
            77,
        ),
        (
            Error::write("rename", p(), io::Error::from_raw_os_error(libc::EPERM)),
            77,
        ),
        (
            Error::NotDurable {
                path: p(),
                source: io_err(),
            },
            74,
        ),
        (
            Error::InPlace {
                path: p(),
                source: io_err(),
            },
            74,
        ),
        (
            Error::Untrusted {
                path: p(),
                reason: "x".into(),
            },
            77,
        ),
        (Error::Config("x".into()), 78),
        (Error::Reload("x".into()), 79),
        (Error::Interrupted(libc::SIGTERM, "x"), 143),
        (Error::Interrupted(libc::SIGINT, "x"), 130),
        (Error::Interrupted(libc::SIGHUP, "x"), 129),
    ];
    let table_codes: Vec<u8> = table.iter().map(|(_, c)| *c).collect();
    for (err, code) in table {
        assert_eq!(err.exit_code(), code, "{err}");
        assert!(
            code > 128 || EXIT_CODES.iter().any(|(c, _, _)| *c == code),
            "{code} is not in EXIT_CODES"
        );
    }
    // And every row of the table is produced by something (or is success).
    for (code, name, _) in EXIT_CODES {
        assert!(
            code == OK || table_codes.contains(&code),
            "{code} {name}: no error has it"
        );
    }
}

#[test]
fn messages_are_one_line() {
    let err = Error::write(
        "rename",
        "/t/.env",
        io::Error::from_raw_os_error(libc::ENOSPC),
    );
    let msg = err.to_string();
    assert!(!msg.contains('\n'));
    assert!(msg.starts_with("cannot write /t/.env: rename:"), "{msg}");
}
