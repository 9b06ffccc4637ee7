//! App layer: long text drawn cheaply. egui lays out every character of a label each
//! frame (a million-character plan name costs about a gigabyte), so a plan's name and
//! notes are cut to a bounded number of characters first.

use std::borrow::Cow;

/// Most characters of a plan name shown in a label or heading ("…" included).
pub const MAX_NAME_CHARS: usize = 80;

/// Most characters of a plan's notes shown in the Plan panel ("…" included).
pub const MAX_NOTES_CHARS: usize = 2_000;

/// Tallest the notes may be drawn before they scroll, in points.
pub const NOTES_MAX_HEIGHT_PX: f32 = 160.0;

/// The mark that says text was cut.
const ELLIPSIS: char = '…';

/// `text` as it is when it has at most `max_chars` characters, else its first
/// `max_chars - 1` and "…". Looks at no more than `max_chars + 1` characters.
pub fn elide(text: &str, max_chars: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max_chars) {
        None => Cow::Borrowed(text),
        Some(_) => {
            let keep = max_chars.saturating_sub(1);
            let end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
            Cow::Owned(format!("{}{ELLIPSIS}", &text[..end]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_kept_and_long_text_is_cut_with_an_ellipsis() {
        assert_eq!(elide("Healthcare triage", 80), "Healthcare triage");
        assert_eq!(elide("abcd", 4), "abcd");
        assert_eq!(elide("abcde", 4), "abc…");
        let long = "é".repeat(100_000);
        let cut = elide(&long, MAX_NAME_CHARS);
        assert_eq!(cut.chars().count(), MAX_NAME_CHARS);
        assert!(cut.ends_with('…') && cut.starts_with('é'));
    }
}
