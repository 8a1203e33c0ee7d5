//! Job files: `--job FILE` holds a whole job as `CREDSHIM_<FLAG>=value` lines (DESIGN.md "Job
//! files").
//!
//! credshim reads the file itself, so cron and systemd can no longer read one job two ways. Only
//! lines that `sh`'s `.` and systemd's `EnvironmentFile=` both read the same are accepted:
//! `NAME=value` with a bare value of plain characters (no space, quote, `$`, `\`, backtick, glob
//! or `#` after a space), a single-quoted value without `'`, or a double-quoted one without `"`,
//! `$`, `\` or backtick; blank lines and lines starting with `#`. Anything else is 65 with its
//! line number (an inline `# comment`: systemd keeps it as part of the value; an unquoted
//! `logger -t x`: sh runs `-t` as a command). An unknown `CREDSHIM_` name is 78, since a typo
//! must not drop a setting silently. Other names (`DATABRICKS_HOST=...`) are for the mint, the
//! probe and the reload, like `EnvironmentFile=`.
//!
//! The file names commands that run with the run's privileges, so it must belong to root or to
//! the running user and be writable by no one else (77), and it is found by [`crate::walk`]
//! under the same rules as the target.
//!
//! Precedence: the command line, then the job file, then the process environment. The job's
//! variables are put into the process environment before the command line is parsed (over any
//! variable of the same name), so clap's own `env` fallbacks see them and children inherit the
//! others.

use crate::error::Error;
use crate::walk::{self, Rules};
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};

/// One accepted line: its number, the name, the value as both readers read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub number: usize,
    pub name: String,
    pub value: String,
}

/// The `--job` argument on a command line, if any (before a `--`, which starts the mint).
pub fn flag(args: &[OsString]) -> Option<PathBuf> {
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        let bytes = a.as_encoded_bytes();
        if bytes == b"--" {
            return None;
        }
        if bytes == b"--job" {
            return it.next().map(PathBuf::from);
        }
        if let Some(rest) = bytes.strip_prefix(b"--job=") {
            return Some(PathBuf::from(String::from_utf8_lossy(rest).into_owned()));
        }
    }
    None
}

/// Read, check and parse the job file at `path`. `known` lists the `CREDSHIM_` names the
/// command line understands.
pub fn load(path: &Path, known: &[String]) -> Result<Vec<Line>, Error> {
    let found = walk::resolve(path, Rules::for_this_run(false)).map_err(|e| match e {
        walk::WalkError::NoInput(reason) => {
            Error::Config(format!("job file {}: {reason}", path.display()))
        }
        walk::WalkError::Untrusted(reason) => Error::Untrusted {
            path: path.to_path_buf(),
            reason,
        },
        walk::WalkError::Io { path, source } => Error::io("cannot open the job file", path, source),
    })?;
    let Some((mut file, stat)) = found.file else {
        return Err(Error::Config(format!(
            "job file {} does not exist",
            path.display()
        )));
    };
    let me = rustix::process::geteuid().as_raw();
    if stat.st_uid != 0 && stat.st_uid != me {
        return Err(Error::Untrusted {
            path: path.to_path_buf(),
            reason: format!(
                "the job file belongs to uid {}: it names commands that run with this run's \
                 privileges, so it must belong to root or to the user credshim runs as",
                stat.st_uid
            ),
        });
    }
    if stat.st_mode & 0o022 != 0 {
        return Err(Error::Untrusted {
            path: path.to_path_buf(),
            reason: format!(
                "the job file is writable by others (mode {:o}): it names commands that run \
                 with this run's privileges; chmod go-w {}",
                stat.st_mode & 0o7777,
                path.display()
            ),
        });
    }
    let mut text = String::new();
    if stat.st_size as u64 > crate::target::MAX_SIZE {
        return Err(Error::TargetParse {
            path: path.to_path_buf(),
            reason: "the job file is larger than 16 MiB".into(),
        });
    }
    (&mut file)
        .take(crate::target::MAX_SIZE)
        .read_to_string(&mut text)
        .map_err(|e| Error::TargetParse {
            path: path.to_path_buf(),
            reason: format!("cannot read it as UTF-8 text: {e}"),
        })?;
    let lines = parse(&text).map_err(|(number, reason)| Error::TargetParse {
        path: path.to_path_buf(),
        reason: format!("line {number}: {reason}"),
    })?;
    if let Some(l) = lines
        .iter()
        .find(|l| l.name.starts_with("CREDSHIM_") && !known.contains(&l.name))
    {
        return Err(Error::Config(format!(
            "job file {} line {}: unknown setting {} (a typo would drop a setting silently)",
            path.display(),
            l.number,
            l.name
        )));
    }
    Ok(lines)
}

/// Parse a job file's text; an error is `(line number, why)`.
pub fn parse(text: &str) -> Result<Vec<Line>, (usize, String)> {
    let mut out = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let number = i + 1;
        if raw.contains('\r') {
            return Err((
                number,
                "a carriage return (CRLF line end): sh keeps it in the value".into(),
            ));
        }
        let line = raw.trim_start_matches([' ', '\t']);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            return Err((number, "not NAME=value".into()));
        };
        if name.is_empty()
            || name.starts_with(|c: char| c.is_ascii_digit())
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err((
                number,
                format!("{name:?} is not a variable name (no spaces around '=', no 'export')"),
            ));
        }
        let value = value_of(value).map_err(|why| (number, format!("{name}: {why}")))?;
        out.push(Line {
            number,
            name: name.to_string(),
            value,
        });
    }
    Ok(out)
}

/// The value both readers agree on, or why they would not.
fn value_of(v: &str) -> Result<String, String> {
    const HINT: &str = "sh and systemd would read it differently; quote it with '...'";
    if let Some(rest) = v.strip_prefix('\'') {
        return match rest.split_once('\'') {
            Some((inner, "")) => Ok(inner.to_string()),
            Some(_) => Err(format!(
                "text after the closing quote: {HINT} and put comments on their own line"
            )),
            None => Err("no closing quote (a value must fit on one line)".into()),
        };
    }
    if let Some(rest) = v.strip_prefix('"') {
        return match rest.split_once('"') {
            Some((inner, "")) if !inner.contains(['$', '\\', '`']) => Ok(inner.to_string()),
            Some((_, "")) => Err(format!("'$', '\\' or '`' inside double quotes: {HINT}")),
            Some(_) => Err(format!(
                "text after the closing quote: {HINT} and put comments on their own line"
            )),
            None => Err("no closing quote (a value must fit on one line)".into()),
        };
    }
    if v.contains([' ', '\t']) {
        return Err(format!(
            "an unquoted space (an inline '# comment', or a command with arguments): {HINT}"
        ));
    }
    let plain = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c) || !c.is_ascii();
    if let Some(c) = v.chars().find(|&c| !plain(c)) {
        return Err(format!("{c:?} unquoted: {HINT}"));
    }
    Ok(v.to_string())
}

/// The names the job file set (empty without `--job`).
static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

/// The variables the job file set, by name: what a probe run as another user is given of the
/// run's environment (see `probe`), since the job file is no place for a secret.
pub fn names() -> &'static [String] {
    NAMES.get().map_or(&[], Vec::as_slice)
}

/// Put the job's variables into this process's environment, over any of the same name. Call
/// before any thread is started.
pub fn apply(lines: &[Line]) {
    let _ = NAMES.set(lines.iter().map(|l| l.name.clone()).collect());
    for l in lines {
        // SAFETY: called from main before any other thread exists, so nothing reads the
        // environment concurrently.
        unsafe { std::env::set_var(&l.name, &l.value) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Result<String, String> {
        parse(line)
            .map(|v| v[0].value.clone())
            .map_err(|(_, why)| why)
    }

    #[test]
    fn accepts_what_sh_and_systemd_read_alike() {
        assert_eq!(one("CREDSHIM_MIN_TTL=15m").unwrap(), "15m");
        assert_eq!(
            one("CREDSHIM_RELOAD='systemctl restart backstage'").unwrap(),
            "systemctl restart backstage"
        );
        assert_eq!(one("A=\"x y\"").unwrap(), "x y");
        assert_eq!(one("A=").unwrap(), "");
        assert_eq!(one("A=/token,B=@expiry").unwrap(), "/token,B=@expiry");
        let lines = parse("# a comment\n\n  B=2\nA=1\n").unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!((lines[0].number, lines[0].name.as_str()), (3, "B"));
    }

    #[test]
    fn refuses_what_they_read_differently_with_the_line() {
        for (text, why) in [
            ("CREDSHIM_MIN_TTL=15m   # refresh early", "unquoted space"),
            ("CREDSHIM_RELOAD=logger -t x", "unquoted space"),
            ("A='x' # c", "after the closing quote"),
            ("A=\"$HOME\"", "'$'"),
            ("A=$HOME", "'$'"),
            ("A=a\\b", "'\\\\'"),
            ("A='open", "no closing quote"),
            ("export A=1", "not a variable name"),
            ("A = 1", "not a variable name"),
            ("A=1\r", "carriage return"),
            ("A=*", "'*'"),
            ("just words", "not NAME=value"),
        ] {
            let err = parse(&format!("OK=1\n{text}\n")).unwrap_err();
            assert_eq!(err.0, 2, "{text}: {err:?}");
            assert!(err.1.contains(why), "{text}: {err:?}");
        }
    }

    #[test]
    fn finds_the_flag_before_the_mint() {
        let v = |s: &[&str]| s.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            flag(&v(&["credshim", "rotate", "--job", "/etc/credshim/a.env"])),
            Some(PathBuf::from("/etc/credshim/a.env"))
        );
        assert_eq!(
            flag(&v(&["credshim", "rotate", "--job=/j"])),
            Some("/j".into())
        );
        assert_eq!(
            flag(&v(&["credshim", "rotate", "--", "mint", "--job", "x"])),
            None
        );
    }

    #[test]
    fn unknown_names_ownership_and_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.env");
        std::fs::write(&p, "CREDSHIM_TARGET=/x\nCREDSHIM_MINTT=1\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        let known = vec!["CREDSHIM_TARGET".to_string()];
        let err = load(&p, &known).unwrap_err();
        assert_eq!(err.exit_code(), 78, "{err}");
        assert!(
            err.to_string()
                .contains("line 2: unknown setting CREDSHIM_MINTT"),
            "{err}"
        );
        std::fs::write(&p, "CREDSHIM_TARGET=/x\nDATABRICKS_HOST=h\n").unwrap();
        assert_eq!(load(&p, &known).unwrap().len(), 2);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o620)).unwrap();
        assert_eq!(load(&p, &known).unwrap_err().exit_code(), 77);
    }
}

#[cfg(test)]
mod shipped {
    use super::*;

    /// Every job file the project ships passes this reader, with known names only.
    #[test]
    fn shipped_job_files_pass_the_reader() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("contrib/examples"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "env"))
            .collect();
        files.push(root.join("packaging/etc/example.env"));
        assert!(files.len() >= 8, "{files:?}");
        let known = crate::cli::env_names();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let lines = parse(&text).unwrap_or_else(|e| panic!("{}: {e:?}", f.display()));
            for l in lines.iter().filter(|l| l.name.starts_with("CREDSHIM_")) {
                assert!(known.contains(&l.name), "{}: {}", f.display(), l.name);
            }
        }
    }
}
