//! What a run tells its caller.
//!
//! A [`Report`] is filled in as the pipeline goes and printed once at the end: nothing on success
//! with `--output text` (cron mails any output), the masked change with `--dry-run`, and one JSON
//! object with `--output json`, on success and on failure alike. It holds key names, lengths and
//! fingerprints, never a value.

use crate::secret::Secret;
use serde::Serialize;

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The target got a new credential.
    Rotated,
    /// The mint returned what the target already held.
    Unchanged,
    /// The credential in the target had more than `--min-ttl` left: nothing was minted.
    Fresh,
    /// Failed; see `error` and `exit_code`.
    #[default]
    Failed,
}

/// One key that the run set.
#[derive(Debug, Clone, Serialize)]
pub struct KeyReport {
    pub key: String,
    /// Whether the value differs from what the target held.
    pub changed: bool,
    /// Length of the new value in bytes.
    pub length: usize,
    /// First 8 hex digits of the new value's SHA-256.
    pub fingerprint: String,
    /// Mask of the old value, for `--dry-run` text output only.
    #[serde(skip)]
    pub old_mask: Option<String>,
}

impl KeyReport {
    pub fn new(key: &str, new: &Secret, old: Option<&str>) -> Self {
        KeyReport {
            key: key.to_string(),
            changed: old != Some(new.expose()),
            length: new.len(),
            fingerprint: new.fingerprint(),
            old_mask: old.map(|o| Secret::new(o.to_string()).to_string()),
        }
    }
}

/// Everything a run reports.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Report {
    pub outcome: Outcome,
    pub exit_code: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The target as given (lossy where the path is not UTF-8).
    pub target: String,
    pub dry_run: bool,
    pub keys: Vec<KeyReport>,
    /// When the credential now in the target expires (RFC 3339 UTC), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Seconds from the end of the run to `expires_at`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<i64>,
    #[serde(skip)]
    pub expiry: Option<jiff::Timestamp>,
    /// Whether the reload command ran (successfully or not).
    pub reload_ran: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mint_seconds: Option<f64>,
    /// Tries of `--probe` (the last one passed, unless the run failed with 69).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe_attempts: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reload_seconds: Option<f64>,
    pub total_seconds: f64,
}

impl Report {
    /// Record the expiry of the credential the target holds.
    pub fn set_expiry(&mut self, expiry: Option<jiff::Timestamp>) {
        self.expiry = expiry;
        self.expires_at = expiry.map(crate::expiry::format_expiry);
    }

    /// Fill in the fields that depend on the end time.
    pub fn finish(&mut self, now: jiff::Timestamp) {
        self.ttl_seconds = self.expiry.map(|e| e.duration_since(now).as_secs());
    }

    pub fn json(&self) -> String {
        serde_json::to_string(self).expect("a report always serialises")
    }

    /// The `--dry-run` text: one line per key, values masked.
    pub fn dry_run_text(&self) -> String {
        let mut out = String::new();
        let verb = match self.outcome {
            Outcome::Rotated => "would update",
            Outcome::Fresh => "fresh enough, would not mint:",
            _ => "would leave unchanged",
        };
        out.push_str(&format!("{verb} {}\n", self.target));
        for k in &self.keys {
            let old = k.old_mask.as_deref().unwrap_or("(absent)");
            let new = format!("<{} bytes, sha256:{}>", k.length, k.fingerprint);
            let mark = if k.changed { "~" } else { "=" };
            out.push_str(&format!("  {mark} {}: {old} -> {new}\n", k.key));
        }
        out
    }
}
