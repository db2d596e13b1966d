//! What a resumable job is and what it has done, as the journal records it: [`JobKey`], ordered
//! `key=value` pairs (input identity, every option that changes the output, model hashes), their
//! validation and the user-facing description of what changed between two keys; and
//! [`SegmentEntry`], one complete segment. Below both the job
//! description ([`crate::job_spec`], whose segment options carry the caller's key) and the
//! journal ([`crate::resume::journal`], which stores it).

use std::collections::HashSet;

/// Most key entries a journal may list.
pub const MAX_KEYS: usize = 10_000;

/// Why `key` cannot be a job key name, if it cannot.
pub(crate) fn check_key_name(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("empty key name".into());
    }
    if key.len() > 256 {
        return Err(format!("key name {}… is too long", shorten(key, 32)));
    }
    if let Some(c) = key
        .chars()
        .find(|c| *c == '=' || c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "key name {:?} contains {:?} ('=', whitespace and control characters are not allowed)",
            key, c
        ));
    }
    Ok(())
}

/// Why `value` cannot be a job key value, if it cannot.
pub(crate) fn check_key_value(key: &str, value: &str) -> Result<(), String> {
    if value.contains(['\n', '\r']) {
        return Err(format!("the value of {key} contains a line break"));
    }
    Ok(())
}

/// What a job is: ordered (key, value) pairs. Keys are plain words like `input.size`,
/// `input.mtime_ns`, `input.head_sha256`, `option.scale`, `option.crf`, `model.sha256`,
/// `segment_frames`. Values must not contain line breaks; key names must not contain `=`,
/// whitespace or control characters, and must be unique ([`JobKey::validate`]; [`prepare`]
/// refuses an invalid key).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct JobKey {
    pub entries: Vec<(String, String)>,
}

/// Shortens `s` to `max` characters plus `…`.
pub(crate) fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// A value as shown in a change description: hashes to 12 hex digits, long values cut.
fn show_value(key: &str, value: &str) -> String {
    let hexlike = value.len() >= 32 && value.chars().all(|c| c.is_ascii_hexdigit());
    if key.ends_with("sha256") || hexlike {
        shorten(value, 12)
    } else {
        shorten(value, 60)
    }
}

impl JobKey {
    pub fn new() -> Self {
        JobKey::default()
    }

    /// Appends an entry (checked later by [`JobKey::validate`]).
    pub fn push(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.entries.push((key.into(), value.into()));
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Checks that every entry can be written to and read back from a journal: key names
    /// non-empty without `=`, whitespace or control characters, values without line breaks,
    /// no key twice, at most [`MAX_KEYS`] entries.
    pub fn validate(&self) -> Result<(), String> {
        if self.entries.len() > MAX_KEYS {
            return Err(format!(
                "{} entries (at most {MAX_KEYS})",
                self.entries.len()
            ));
        }
        let mut seen = HashSet::new();
        for (k, v) in &self.entries {
            check_key_name(k)?;
            check_key_value(k, v)?;
            if !seen.insert(k.as_str()) {
                return Err(format!("key {k} appears twice"));
            }
        }
        Ok(())
    }

    /// First difference between the journal's key (`self`, old) and `new`, described for a
    /// user: "the input file changed (size 123 -> 456)", "option crf changed (18 -> 20)",
    /// "model.sha256 changed (ab12cd34ef56… -> 0123456789ab…)", "option x was added (= 1)",
    /// "option x was removed (was 1)". `None` when both have the same entries (order aside).
    pub fn describe_change(&self, new: &JobKey) -> Option<String> {
        for (k, old_v) in &self.entries {
            match new.get(k) {
                Some(new_v) if new_v == old_v => {}
                Some(new_v) => return Some(describe_changed(k, old_v, new_v)),
                None => {
                    return Some(format!(
                        "{} was removed (was {})",
                        key_label(k),
                        show_value(k, old_v)
                    ))
                }
            }
        }
        for (k, new_v) in &new.entries {
            if self.get(k).is_none() {
                return Some(format!(
                    "{} was added (= {})",
                    key_label(k),
                    show_value(k, new_v)
                ));
            }
        }
        None
    }
}

/// `option.crf` -> `option crf`; other keys as they are.
fn key_label(key: &str) -> String {
    match key.strip_prefix("option.") {
        Some(name) => format!("option {name}"),
        None => key.to_string(),
    }
}

fn describe_changed(key: &str, old: &str, new: &str) -> String {
    let (old_s, new_s) = (show_value(key, old), show_value(key, new));
    let input_what = match key {
        "input.size" => Some("size"),
        "input.mtime_ns" => Some("modification time in ns"),
        "input.head_sha256" => Some("sha256 of the first MiB"),
        _ => None,
    };
    match input_what {
        Some(what) => format!("the input file changed ({what} {old_s} -> {new_s})"),
        None => format!("{} changed ({old_s} -> {new_s})", key_label(key)),
    }
}

/// One complete segment as recorded in the journal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentEntry {
    pub index: u64,
    pub frames: u64,
    pub bytes: u64,
    pub file: String,
}
