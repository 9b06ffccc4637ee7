//! App layer: what the window knows about the plan's file on disk — its absolute path,
//! a stamp of the file as it was opened or last saved (to tell when something else
//! changed it since), and whether it holds comments that saving would drop.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::model::Plan;
use crate::plan::{PlanError, load_str};

/// A file as costscope last read or wrote it: modification time, size and a hash of
/// its bytes. All three must match for the file to count as unchanged: a time alone
/// misses a same-second rewrite on coarse file systems, a size alone misses an edit of
/// the same length.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    /// When the file was last modified, where the file system says.
    pub modified: Option<SystemTime>,
    /// Its size.
    pub len_bytes: u64,
    /// FNV-1a of its bytes.
    pub hash: u64,
}

impl FileStamp {
    /// Stamps `path` as it is now; returns its bytes too, read once, so the stamp is of
    /// exactly the bytes the caller goes on to use.
    pub fn read(path: &Path) -> std::io::Result<(Self, Vec<u8>)> {
        // The time is taken before the bytes: a write in between leaves an old time with
        // new bytes, which later reads as "changed" (asks once too often, never too few).
        let modified = std::fs::metadata(path)?.modified().ok();
        let bytes = std::fs::read(path)?;
        let stamp = Self {
            modified,
            len_bytes: bytes.len() as u64,
            hash: fnv1a_64(&bytes),
        };
        Ok((stamp, bytes))
    }
}

/// FNV-1a, 64 bits: written out here because std's `DefaultHasher` may change between
/// Rust releases, and stamps persist between runs.
fn fnv1a_64(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET_BASIS, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

/// `path` made absolute: symlinks resolved when it exists, else joined to the working
/// folder (a file about to be created), else as given. A relative path means another
/// file once the working folder changes, so the app never keeps one.
pub fn absolute(path: &Path) -> PathBuf {
    path.canonicalize()
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// Reads the plan file at `path` (errors name `path` as given, like
/// [`crate::plan::load_file`]) and returns the plan, its absolute path and the stamp of
/// the bytes it was parsed from.
pub fn read_plan(path: &Path) -> Result<(Plan, PathBuf, FileStamp), PlanError> {
    let read_error = |error| PlanError::Read {
        path: path.to_owned(),
        error,
    };
    let (stamp, bytes) = FileStamp::read(path).map_err(read_error)?;
    let text = String::from_utf8(bytes)
        .map_err(|e| read_error(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
    let plan = load_str(&text, &path.display().to_string())?;
    Ok((plan, absolute(path), stamp))
}

/// Whether RON `text` has a comment (`//` or `/*`) outside strings and characters:
/// saving writes the plan anew and keeps none of them.
pub fn has_comments(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        i = match bytes[i] {
            b'/' if matches!(bytes.get(i + 1), Some(b'/' | b'*')) => return true,
            b'"' => skip_quoted(bytes, i + 1, b'"'),
            b'\'' => skip_quoted(bytes, i + 1, b'\''),
            b'r' if starts_raw_string(bytes, i) => skip_raw_string(bytes, i + 1),
            _ => i + 1,
        };
    }
    false
}

/// The index after the `quote` closing a string or character whose text starts at
/// `i` (a backslash escapes the next byte).
fn skip_quoted(bytes: &[u8], mut i: usize, quote: u8) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// Whether a raw string (`r"…"`, `r#"…"#`) starts at `i`, and not an identifier that
/// happens to end in `r`.
fn starts_raw_string(bytes: &[u8], i: usize) -> bool {
    let after_ident = i > 0 && (bytes[i - 1] == b'_' || bytes[i - 1].is_ascii_alphanumeric());
    let hashes = bytes[i + 1..].iter().take_while(|&&b| b == b'#').count();
    !after_ident && bytes.get(i + 1 + hashes) == Some(&b'"')
}

/// The index after the raw string whose `#`s start at `i`.
fn skip_raw_string(bytes: &[u8], i: usize) -> usize {
    let hashes = bytes[i..].iter().take_while(|&&b| b == b'#').count();
    let body = i + hashes + 1;
    let mut close = vec![b'"'];
    close.extend(std::iter::repeat_n(b'#', hashes));
    (bytes[body..].windows(close.len()))
        .position(|w| w == close.as_slice())
        .map_or(bytes.len(), |p| body + p + close.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_found_outside_strings_only() {
        assert!(has_comments("// notes\n(version: 1)"));
        assert!(has_comments("(version: 1, /* old: 2 */ name: \"a\")"));
        assert!(has_comments(
            "(name: \"a\\\"//\") // after an escaped quote"
        ));
        assert!(!has_comments(
            "(name: \"see http://example.com\", notes: \"/* no */\")"
        ));
        assert!(!has_comments(
            "(name: r#\"raw \"// still\" text\"#, c: '/')"
        ));
        assert!(!has_comments("(ratio: 1.0, per: \"a/b\")"));
        assert!(has_comments("(per: r\"x\") /* after a raw string */"));
        assert!(!has_comments("(name: \"never closed //"));
    }

    #[test]
    fn a_stamp_changes_with_the_bytes_even_at_the_same_length() {
        let dir = std::env::temp_dir().join(format!("costscope-stamp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("p.ron");
        std::fs::write(&file, "abc").unwrap();
        let (first, bytes) = FileStamp::read(&file).unwrap();
        assert_eq!(bytes, b"abc");
        assert_eq!(FileStamp::read(&file).unwrap().0, first, "unchanged");
        std::fs::write(&file, "abd").unwrap();
        let (second, _) = FileStamp::read(&file).unwrap();
        assert_eq!(second.len_bytes, first.len_bytes);
        assert_ne!(second, first);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_relative_path_becomes_absolute_whether_or_not_it_exists() {
        let cwd = std::env::current_dir().unwrap().canonicalize().unwrap();
        assert_eq!(absolute(Path::new("Cargo.toml")), cwd.join("Cargo.toml"));
        assert_eq!(absolute(Path::new("no-such.ron")), cwd.join("no-such.ron"));
    }
}
