//! The keys a rotation sets: for each `--set`, its spec, the value the target holds now and the
//! value minted for it, side by side in one [`KeyState`] (instead of three lists matched by
//! position). Values are [`Secret`]s from the moment they are read or minted until the format's
//! splice writes their bytes ([`crate::format::Format::splice`]).

use crate::config::{SetSpec, Source};
use crate::error::Error;
use crate::expiry;
use crate::extract::MintOutput;
use crate::format::Format;
use crate::report::KeyReport;
use crate::secret::Secret;
use jiff::Timestamp;
use std::path::Path;

/// One `--set`: what it asks for, what the target holds, what was minted.
#[derive(Debug)]
pub struct KeyState {
    pub spec: SetSpec,
    pub old: Option<Secret>,
    pub new: Option<Secret>,
}

/// Every `--set` of the run, in command-line order.
#[derive(Debug)]
pub struct Keys(Vec<KeyState>);

impl Keys {
    /// Read what `text` holds for each key. Also proves, before anything is minted, that the
    /// target parses (65) and that every key can be set in it: a trial splice with a
    /// placeholder value, and its verification, find what only setting a key reveals.
    pub fn read(sets: &[SetSpec], format: Format, text: &str, path: &Path) -> Result<Keys, Error> {
        let trial: Vec<(String, Secret)> = sets
            .iter()
            .map(|s| (s.key.clone(), Secret::new("placeholder".to_string())))
            .collect();
        let tried = format.trial(text, &trial, path)?;
        format.verify(text, &tried, &trial, path)?;
        sets.iter()
            .map(|spec| {
                Ok(KeyState {
                    spec: spec.clone(),
                    old: format.get(text, &spec.key, path)?.map(Secret::new),
                    new: None,
                })
            })
            .collect::<Result<_, Error>>()
            .map(Keys)
    }

    /// The expiry of the credential the target holds: its `@expiry` key, else the JWT `exp` of
    /// the first key set from the mint.
    pub fn stored_expiry(&self, now: Timestamp) -> Option<Timestamp> {
        let find = |want_expiry: bool| {
            self.0
                .iter()
                .find(|k| (k.spec.source == Source::Expiry) == want_expiry)
                .and_then(|k| k.old.as_ref().map(Secret::expose))
        };
        expiry::stored(find(true), find(false), now)
    }

    /// What the target holds for the first key set from the mint (whose value tells a cached
    /// token from a new one).
    pub fn first_old(&self) -> Option<Secret> {
        self.0
            .iter()
            .find(|k| k.spec.source != Source::Expiry)
            .and_then(|k| k.old.clone())
    }

    /// Whether a key taken from the mint is absent from the target.
    pub fn missing(&self) -> bool {
        self.0
            .iter()
            .any(|k| k.spec.source != Source::Expiry && k.old.is_none())
    }

    /// Take each key's new value from the mint's output: first every value the output holds
    /// (an unusable output is 76 before anything else is said of it), then the new credential's
    /// expiry from `expiry_of` (given the first of those values, whose JWT `exp` may be it),
    /// then the `@expiry` keys. Returns that expiry.
    pub fn take_minted(
        &mut self,
        out: &MintOutput,
        expiry_of: impl FnOnce(Option<&Secret>) -> Result<Option<Timestamp>, Error>,
    ) -> Result<Option<Timestamp>, Error> {
        for k in &mut self.0 {
            k.new = match &k.spec.source {
                Source::Whole => Some(out.whole()?),
                Source::Pointer(p) => Some(out.secret_at(p)?),
                Source::Expiry => None,
            };
        }
        let first = self.0.iter().find_map(|k| k.new.as_ref());
        let expiry = expiry_of(first)?;
        for k in self
            .0
            .iter_mut()
            .filter(|k| k.spec.source == Source::Expiry)
        {
            k.new = Some(Secret::new(expiry.map(expiry::format_expiry).ok_or_else(
                || {
                    Error::Protocol(format!(
                        "{}=@expiry: the credential's expiry is unknown (not a JWT; give \
                     --expiry-from or --ttl)",
                        k.spec.key
                    ))
                },
            )?));
        }
        Ok(expiry)
    }

    /// `(key, new value)` for the format's splice, the values still [`Secret`]s.
    pub fn updates(&self) -> Vec<(String, Secret)> {
        self.0
            .iter()
            .filter_map(|k| k.new.as_ref().map(|v| (k.spec.key.clone(), v.clone())))
            .collect()
    }

    /// What the report says of each key (lengths and fingerprints only).
    pub fn reports(&self) -> Vec<KeyReport> {
        self.0
            .iter()
            .filter_map(|k| {
                let new = k.new.as_ref()?;
                Some(KeyReport::new(
                    &k.spec.key,
                    new,
                    k.old.as_ref().map(Secret::expose),
                ))
            })
            .collect()
    }

    /// `A, B` for messages.
    pub fn names(&self) -> String {
        self.0
            .iter()
            .map(|k| k.spec.key.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sets(specs: &[&str]) -> Vec<SetSpec> {
        specs.iter().map(|s| SetSpec::parse(s).unwrap()).collect()
    }

    #[test]
    fn one_state_per_key_with_old_and_new_side_by_side() {
        let sets = sets(&["T=/token", "T_EXP=@expiry", "OTHER=/other"]);
        let mut keys = Keys::read(&sets, Format::Env, "T=old\nX=1\n", Path::new(".env")).unwrap();
        assert!(keys.missing(), "OTHER is not in the target");
        let out = MintOutput::new(br#"{"token":"new","other":"o"}"#.to_vec());
        let exp: Timestamp = "2027-01-15T08:00:00Z".parse().unwrap();
        let got = keys.take_minted(&out, |first| {
            assert_eq!(first.map(Secret::expose), Some("new"));
            Ok(Some(exp))
        });
        assert_eq!(got.unwrap(), Some(exp));
        let updates: Vec<(String, String)> = keys
            .updates()
            .into_iter()
            .map(|(k, v)| (k, v.expose().to_string()))
            .collect();
        assert_eq!(
            updates,
            [
                ("T".to_string(), "new".to_string()),
                ("T_EXP".to_string(), "2027-01-15T08:00:00Z".to_string()),
                ("OTHER".to_string(), "o".to_string())
            ]
        );
        let reports = keys.reports();
        assert!(reports[0].changed && reports[2].changed);
        assert_eq!(keys.names(), "T, T_EXP, OTHER");
    }

    #[test]
    fn expiry_keys_need_a_known_expiry() {
        let sets = sets(&["T", "T_EXP=@expiry"]);
        let mut keys = Keys::read(&sets, Format::Env, "", Path::new(".env")).unwrap();
        let err = keys
            .take_minted(&MintOutput::new(b"opaque\n".to_vec()), |_| Ok(None))
            .unwrap_err();
        assert_eq!(err.exit_code(), 76);
        assert!(err.to_string().contains("T_EXP=@expiry"), "{err}");
    }
}
