//! The target formats behind one interface.
//!
//! Each format offers the same pure operations: whether a key can name a value
//! ([`Format::check_key`]), read a key's current value ([`Format::get`]), set keys
//! ([`Format::splice`]), and check a new text against the old ([`Format::verify`]). A format is a
//! module implementing [`Syntax`]; [`Format`], the `--format` values, is the registry that maps
//! each variant to its module, and the one place a format's [`Refusal`] becomes the run's
//! [`Error`]: a file the format cannot parse is 65, a value it cannot carry is 76, a key it cannot
//! address is 64, updates it cannot take together are 78. The pipeline never needs to know which
//! format it writes. A new format is a new module and its variant here.

pub mod env;
pub mod ini;
pub mod json;
pub mod pgpass;
pub mod properties;
pub mod raw;
pub mod toml;
pub mod yaml;

use crate::error::Error;
use crate::secret::Secret;
use clap::ValueEnum;
use std::path::Path;

/// A target file format: the registry of the [`Syntax`] of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `KEY=value` lines, read by dotenvy, python-dotenv, compose, systemd and sh
    Env,
    /// A JSON document; KEY is a JSON pointer to a string member
    Json,
    /// The whole file is the value; the one KEY is `-`
    Raw,
    /// Java `.properties`; KEY is the property name as Java loads it
    Properties,
    /// A TOML document; KEY is a pointer to a string value through tables
    Toml,
    /// libpq's password file; KEY is `HOST:PORT:DATABASE:USER` as written
    Pgpass,
    /// A YAML document; KEY is a pointer through its mappings to a scalar
    Yaml,
    /// An INI file (`~/.aws/credentials`, `my.cnf`); KEY is `/section/key`
    Ini,
}

impl Format {
    /// The module that reads and writes this format.
    fn syntax(self) -> &'static dyn Syntax {
        match self {
            Format::Env => &env::Env,
            Format::Json => &json::Json,
            Format::Ini => &ini::Ini,
            Format::Raw => &raw::Raw,
            Format::Properties => &properties::Properties,
            Format::Toml => &toml::Toml,
            Format::Pgpass => &pgpass::Pgpass,
            Format::Yaml => &yaml::Yaml,
        }
    }
}

/// What a format does with a target's text: pure, text in, text out. No message may hold a value.
pub trait Syntax {
    /// The file extensions (lower case, without the dot) that select this format when
    /// `--format` is not given.
    fn extensions(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whole file names (`credentials`, `.pgpass`) that select this format when `--format` is
    /// not given, matched exactly.
    fn file_names(&self) -> &'static [&'static str] {
        &[]
    }

    /// The largest file this format edits, in bytes, when it is less than the target limit
    /// (`target::MAX_SIZE`): a syntax tree can take a hundred times a file's size in memory.
    fn max_len(&self) -> Option<usize> {
        None
    }

    /// Whether `key` can name a value in this format; the reason when not.
    fn check_key(&self, key: &str) -> Result<(), String>;

    /// The value of `key` in `text`, `None` when absent.
    fn get(&self, text: &str, key: &str) -> Result<Option<String>, Refusal>;

    /// `text` with every key of `updates` set.
    fn splice(&self, text: &str, updates: &[(String, String)]) -> Result<Spliced, Refusal>;

    /// Whether `new` holds the updated values and everything else as in `old`; the first
    /// mismatch, by key, when not.
    fn verify(&self, old: &str, new: &str, updates: &[(String, String)]) -> Result<(), String>;

    /// The other keys of `text` whose values refer to one of `keys` and so follow its change in
    /// the format's readers (`.env`: `URL=postgres://u:${K}@h/db`), in file order; named at `-v`.
    fn followers<'a>(&self, _text: &'a str, _keys: &[&str]) -> Vec<&'a str> {
        Vec::new()
    }

    /// What to say of a target whose permission bits (`st_mode`) this format's readers object
    /// to (libpq ignores a password file that group or others can access). The mode is kept
    /// all the same (guarantee 5): this only tells the operator. No message may hold a value.
    fn mode_warning(&self, _mode: u32) -> Option<String> {
        None
    }
}

/// Why a format refuses, by what is wrong; [`Format`] maps it to the run's [`Error`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The key cannot name a value in this format (64).
    Key(String),
    /// The file cannot be read or edited safely (65).
    File(String),
    /// The value cannot be carried (76).
    Value(String),
    /// The updates cannot be taken together (78).
    Updates(String),
}

/// The result of a splice.
#[derive(Clone, PartialEq, Eq)]
pub struct Spliced {
    pub text: String,
    /// Human warnings (for `.env`: rule 3 `${` for python-dotenv, rule 5 backslashes for Node).
    /// Never contain the value.
    pub warnings: Vec<String>,
}

// By hand: the text holds the new credential, so only its length is shown.
impl std::fmt::Debug for Spliced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spliced")
            .field("text", &format_args!("<{} bytes>", self.text.len()))
            .field("warnings", &self.warnings)
            .finish()
    }
}

impl Format {
    /// The format of `path` when `--format` is not given: the one claiming its file name
    /// (`credentials`) or its extension (`.json` is json), anything else env.
    pub fn for_path(path: &Path) -> Format {
        let name = path.file_name().and_then(|n| n.to_str());
        let ext = path.extension().and_then(|e| e.to_str());
        let claims = |f: &&Format| {
            let syntax = f.syntax();
            name.is_some_and(|n| syntax.file_names().contains(&n))
                || ext.is_some_and(|e| {
                    syntax
                        .extensions()
                        .iter()
                        .any(|x| x.eq_ignore_ascii_case(e))
                })
        };
        Format::value_variants()
            .iter()
            .find(claims)
            .copied()
            .unwrap_or(Format::Env)
    }

    /// Whether `key` can name a value in this format; the reason when not.
    pub fn check_key(self, key: &str) -> Result<(), String> {
        self.syntax().check_key(key)
    }

    /// The value of `key` in `text`, `None` when absent.
    pub fn get(self, text: &str, key: &str, path: &Path) -> Result<Option<String>, Error> {
        self.fits(text, path)?;
        self.syntax().get(text, key).map_err(|e| refused(e, path))
    }

    /// Refuse (65) a file larger than the format edits ([`Syntax::max_len`]).
    fn fits(self, text: &str, path: &Path) -> Result<(), Error> {
        match self.syntax().max_len() {
            Some(max) if text.len() > max => Err(Error::TargetParse {
                path: path.to_path_buf(),
                reason: format!(
                    "{} bytes, more than the {} MiB a {} target may have (its syntax tree \
                     takes up to a hundred times the file's size in memory)",
                    text.len(),
                    max >> 20,
                    self.to_possible_value()
                        .map_or_else(String::new, |v| v.get_name().to_owned()),
                ),
            }),
            _ => Ok(()),
        }
    }

    /// `text` with every key of `updates` set; warnings are logged. The values stay
    /// [`Secret`]s up to here: the format writes their bytes, and nothing else sees them.
    pub fn splice(
        self,
        text: &str,
        updates: &[(String, Secret)],
        path: &Path,
    ) -> Result<String, Error> {
        self.fits(text, path)?;
        let spliced = self
            .syntax()
            .splice(text, &exposed(updates))
            .map_err(|e| refused(e, path))?;
        for w in &spliced.warnings {
            log::warn!("{}: {w}", path.display());
        }
        Ok(spliced.text)
    }

    /// `text` with every key of `updates` set, for the trial splice before minting
    /// ([`crate::keys::Keys::read`]). Its warnings are left to the real splice, which says them
    /// once.
    pub fn trial(
        self,
        text: &str,
        updates: &[(String, Secret)],
        path: &Path,
    ) -> Result<String, Error> {
        self.fits(text, path)?;
        self.syntax()
            .splice(text, &exposed(updates))
            .map(|spliced| spliced.text)
            .map_err(|e| refused(e, path))
    }

    /// Log the format's warning about the target's mode, if it has one.
    pub fn warn_mode(self, mode: u32, path: &Path) {
        if let Some(w) = self.syntax().mode_warning(mode) {
            log::warn!("{}: {w}", path.display());
        }
    }

    /// Check that `new` holds the updated values and everything else as in `old` (70 if not),
    /// but for the values that follow a changed key ([`Format::name_followers`]).
    pub fn verify(
        self,
        old: &str,
        new: &str,
        updates: &[(String, Secret)],
        path: &Path,
    ) -> Result<(), Error> {
        self.syntax()
            .verify(old, new, &exposed(updates))
            .map_err(|why| {
                Error::Software(format!(
                    "{}: the new file would not read back as intended: {why}",
                    path.display()
                ))
            })
    }

    /// Say at `-v` which values of `old` follow the change of `updates` (`B=${K}`).
    pub fn name_followers(self, old: &str, updates: &[(String, Secret)], path: &Path) {
        let keys: Vec<&str> = updates.iter().map(|(k, _)| k.as_str()).collect();
        let followers = self.syntax().followers(old, &keys);
        if !followers.is_empty() {
            log::info!(
                "{}: {} refer{} to {} and follow{} the new value",
                path.display(),
                followers.join(", "),
                if followers.len() == 1 { "s" } else { "" },
                keys.join(", "),
                if followers.len() == 1 { "s" } else { "" },
            );
        }
    }
}

/// The values as a format writes and compares them: where their bytes leave the [`Secret`].
fn exposed(updates: &[(String, Secret)]) -> Vec<(String, String)> {
    updates
        .iter()
        .map(|(k, v)| (k.clone(), v.expose().to_string()))
        .collect()
}

/// The run's error for a format's refusal of the target at `path`.
fn refused(refusal: Refusal, path: &Path) -> Error {
    match refusal {
        Refusal::Key(why) => Error::Usage(why),
        Refusal::File(reason) => Error::TargetParse {
            path: path.to_path_buf(),
            reason,
        },
        Refusal::Value(why) => Error::Protocol(why),
        Refusal::Updates(why) => Error::Config(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_follows_the_extension() {
        assert_eq!(
            Format::for_path(Path::new("/etc/app/config.json")),
            Format::Json
        );
        assert_eq!(Format::for_path(Path::new("C.JSON")), Format::Json);
        assert_eq!(Format::for_path(Path::new(".env")), Format::Env);
        assert_eq!(Format::for_path(Path::new("app-config.yaml")), Format::Yaml);
        assert_eq!(Format::for_path(Path::new("application.YML")), Format::Yaml);
        assert_eq!(Format::for_path(Path::new("password")), Format::Env);
        assert_eq!(
            Format::for_path(Path::new("/srv/app/application.properties")),
            Format::Properties
        );
        assert_eq!(Format::for_path(Path::new("/root/.pgpass")), Format::Pgpass);
        assert_eq!(
            Format::for_path(Path::new("/etc/app/pgpass")),
            Format::Pgpass
        );
        assert_eq!(Format::for_path(Path::new("app.pgpass")), Format::Pgpass);
        assert_eq!(Format::for_path(Path::new("pgpass.bak")), Format::Env);
        for ini in [
            "/etc/php/php.ini",
            "setup.cfg",
            "/etc/mysql/my.cnf",
            "X.INI",
        ] {
            assert_eq!(Format::for_path(Path::new(ini)), Format::Ini, "{ini}");
        }
        assert_eq!(
            Format::for_path(Path::new("/root/.aws/credentials")),
            Format::Ini
        );
        assert_eq!(Format::for_path(Path::new("credentials.bak")), Format::Env);
    }

    #[test]
    fn keys_per_format() {
        assert!(Format::Env.check_key("A_1").is_ok());
        assert!(Format::Env.check_key("/a").is_err());
        assert!(Format::Json.check_key("/a/b").is_ok());
        assert!(Format::Json.check_key("a").is_err());
        assert!(Format::Raw.check_key("-").is_ok());
        assert!(Format::Raw.check_key("K").is_err());
        assert!(
            Format::Properties
                .check_key("spring.datasource.password")
                .is_ok()
        );
        assert!(Format::Properties.check_key("").is_err());
        assert!(Format::Ini.check_key("/default/aws_session_token").is_ok());
        assert!(Format::Ini.check_key("/password").is_ok());
        assert!(Format::Ini.check_key("aws_session_token").is_err());
    }

    #[test]
    fn tree_formats_refuse_files_over_their_limit_before_parsing() {
        let path = Path::new("big");
        let big = format!("# {}\n", "x".repeat(1 << 20));
        let updates = [("/a".to_string(), Secret::new("v".to_string()))];
        for format in [Format::Toml, Format::Yaml] {
            let err = format.get(&big, "/a", path).unwrap_err();
            assert_eq!(err.exit_code(), 65, "{format:?}: {err}");
            assert!(err.to_string().contains("1 MiB"), "{err}");
            assert!(format.trial(&big, &updates, path).is_err());
            assert!(format.splice(&big, &updates, path).is_err());
        }
        // The line formats take anything up to the target limit.
        let env = format!("# {}\nK=1\n", "x".repeat(1 << 20));
        assert_eq!(
            Format::Env.get(&env, "K", path).unwrap().as_deref(),
            Some("1")
        );
    }
}
