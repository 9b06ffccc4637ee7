//! Plan layer: reading positions in RON text back to the plan — which field path a
//! byte offset lies in, and which literal is written there — so a parse error can name
//! the field and its allowed range like a validation error does.

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A named field, e.g. `servers`.
    Field(String),
    /// The i-th element of a list (`[…]`), written `[i]` in a path.
    Index(usize),
    /// The i-th element of a tuple or tuple variant (`(1, 2.0)`, `Constant(8.0)`);
    /// not written in a path (`service.batch_latency_ms[0]` is a whole point).
    Tuple(usize),
}

/// What a bracket opened: its kind, and where the scan is inside it.
struct Frame {
    /// `(` or `[` (`{` is treated like `(`).
    close: char,
    /// `Some(…)`: a wrapper that adds nothing to the path.
    transparent: bool,
    /// The field being written, inside a struct.
    field: Option<String>,
    /// Elements passed so far (commas seen at this level).
    index: usize,
}

/// The field path at byte `offset` of `text`, outermost first; `None` when the text
/// before it is not bracketed as a plan would be (more closing than opening brackets).
pub fn path_at(text: &str, offset: usize) -> Option<Vec<Segment>> {
    let head = text.get(..offset)?;
    let mut frames: Vec<Frame> = Vec::new();
    // The identifier just read (a field or variant name), kept across whitespace so
    // `name :` and `Some (` are read like `name:` and `Some(`.
    let mut last_ident = String::new();
    let mut ident_ended = false;
    let mut chars = head.char_indices().peekable();
    while let Some((i, ch)) = chars.next() {
        match ch {
            '/' if head[i..].starts_with("//") => {
                skip_while(&mut chars, |c| c != '\n');
            }
            '/' if head[i..].starts_with("/*") => skip_block_comment(&mut chars),
            '"' => skip_string(&mut chars),
            'r' if last_ident.is_empty() && is_raw_string_start(&head[i..]) => {
                skip_raw_string(&mut chars, &head[i..]);
            }
            '(' | '[' | '{' => frames.push(Frame {
                close: if ch == '[' { ']' } else { ')' },
                transparent: ch == '(' && last_ident == "Some",
                field: None,
                index: 0,
            }),
            ')' | ']' | '}' => {
                frames.pop()?;
            }
            ',' => {
                if let Some(f) = frames.last_mut() {
                    f.index += 1;
                    f.field = None;
                }
            }
            ':' => {
                if let Some(f) = frames.last_mut() {
                    f.field = Some(std::mem::take(&mut last_ident));
                }
            }
            c if is_ident_char(c) => {
                if ident_ended {
                    last_ident.clear();
                    ident_ended = false;
                }
                last_ident.push(c);
                continue;
            }
            c if c.is_whitespace() => {
                ident_ended = true;
                continue;
            }
            _ => {}
        }
        last_ident.clear();
        ident_ended = false;
    }
    Some(frames.iter().filter_map(segment).collect())
}

fn segment(f: &Frame) -> Option<Segment> {
    match (&f.field, f.close) {
        (_, ']') => Some(Segment::Index(f.index)),
        _ if f.transparent => None,
        (Some(name), _) => Some(Segment::Field(name.clone())),
        (None, _) => Some(Segment::Tuple(f.index)),
    }
}

/// The path as validation writes it: `policy.servers`, `service.batch_latency_ms[0]`.
pub fn display(path: &[Segment]) -> String {
    join(path, |i| format!("[{i}]"), |_| String::new())
}

/// The path as a lookup key: fields joined by `.`, any list index as `[]` and a tuple
/// position as `.N` (`service.batch_latency_ms[].0` is a curve point's batch size).
pub fn key(path: &[Segment]) -> String {
    join(path, |_| "[]".to_owned(), |i| format!(".{i}"))
}

/// Fields joined by `.`, list indices and tuple positions written as the caller says.
fn join(
    path: &[Segment],
    index: impl Fn(usize) -> String,
    tuple: impl Fn(usize) -> String,
) -> String {
    let mut out = String::new();
    for s in path {
        match s {
            Segment::Field(name) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            Segment::Index(i) => out.push_str(&index(*i)),
            Segment::Tuple(i) => out.push_str(&tuple(*i)),
        }
    }
    out
}

/// Byte offset of 1-based (`line`, `col`), columns counted in characters as ron
/// counts them; `None` past the end.
pub fn offset_of(text: &str, line: usize, col: usize) -> Option<usize> {
    let line_start = if line <= 1 {
        0
    } else {
        text.match_indices('\n').nth(line - 2)?.0 + 1
    };
    let rest = text.get(line_start..)?;
    let in_line = rest
        .char_indices()
        .nth(col.saturating_sub(1))
        .map_or(rest.len(), |(i, _)| i);
    Some(line_start + in_line)
}

/// 1-based (line, col) of byte `offset`, columns in characters.
pub fn line_col_of(text: &str, offset: usize) -> (usize, usize) {
    let head = text.get(..offset).unwrap_or(text);
    let line = head.matches('\n').count() + 1;
    let line_start = head.rfind('\n').map_or(0, |p| p + 1);
    (line, head[line_start..].chars().count() + 1)
}

/// The number-like literal at or just before byte `offset` (`4294967296`, `2.5`,
/// `-1`, `1e3`, `NaN`): its start and its text.
pub fn literal_at(text: &str, offset: usize) -> Option<(usize, &str)> {
    let is_literal_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-' | '_');
    let at = text.get(offset..)?.chars().next();
    // ron may point just past the literal (at the comma or bracket that follows).
    let offset = if at.is_none_or(|c| !is_literal_char(c)) {
        text.get(..offset)?.char_indices().next_back()?.0
    } else {
        offset
    };
    let start = text[..offset]
        .char_indices()
        .rev()
        .take_while(|&(_, c)| is_literal_char(c))
        .last()
        .map_or(offset, |(i, _)| i);
    let end = text[offset..]
        .char_indices()
        .find(|&(_, c)| !is_literal_char(c))
        .map_or(text.len(), |(i, _)| offset + i);
    let literal = &text[start..end];
    let unsigned = literal.trim_start_matches(['-', '+']);
    let numeric = unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        || matches!(unsigned, "NaN" | "inf" | "infinity");
    numeric.then_some((start, literal))
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

fn skip_while(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    keep: impl Fn(char) -> bool,
) {
    while chars.next_if(|&(_, c)| keep(c)).is_some() {}
}

/// Skips a `/* … */` comment (ron nests them), the opening `/` already read.
fn skip_block_comment(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) {
    chars.next(); // the '*'
    let mut depth = 1usize;
    let mut prev = '\0';
    for (_, c) in chars.by_ref() {
        match (prev, c) {
            ('/', '*') => {
                depth += 1;
                prev = '\0';
                continue;
            }
            ('*', '/') => {
                depth -= 1;
                if depth == 0 {
                    return;
                }
                prev = '\0';
                continue;
            }
            _ => {}
        }
        prev = c;
    }
}

/// Skips a `"…"` string, the opening quote already read.
fn skip_string(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) {
    while let Some((_, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '"' => return,
            _ => {}
        }
    }
}

fn is_raw_string_start(s: &str) -> bool {
    let hashes = s[1..].len() - s[1..].trim_start_matches('#').len();
    s[1 + hashes..].starts_with('"')
}

/// Skips `r#"…"#`, the `r` already read; `s` starts at the `r`.
fn skip_raw_string(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>, s: &str) {
    let hashes = s[1..].len() - s[1..].trim_start_matches('#').len();
    let close = format!("\"{}", "#".repeat(hashes));
    let body_start = 1 + hashes + 1;
    let skip = s[body_start..]
        .find(&close)
        .map_or(s.len(), |end| body_start + end + close.len());
    // Advance by characters until the byte count reaches `skip` (the `r` is read).
    let Some(&(base, _)) = chars.peek() else {
        return;
    };
    let base = base - 1;
    while chars.next_if(|&(i, _)| i < base + skip).is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str, needle: &str) -> String {
        let offset = text.find(needle).unwrap_or(text.len());
        display(&path_at(text, offset).unwrap_or_default())
    }

    #[test]
    fn paths_follow_fields_lists_and_wrappers() {
        let text = "// a (comment: x\n(\n version: 1, /* b: ( */ name: \"a(b:\",\n policy: AlwaysOn(servers: 10),\n service: (batch_latency_ms: [(1, 2.0), (4, 3.0)]),\n routing: Some((servers: 3)),\n)";
        assert_eq!(path(text, "1,"), "version");
        assert_eq!(path(text, "10"), "policy.servers");
        assert_eq!(path(text, "4,"), "service.batch_latency_ms[1]");
        assert_eq!(path(text, "3)"), "routing.servers");
        let offset = text.find("4,").unwrap_or(0);
        let p = path_at(text, offset).unwrap_or_default();
        assert_eq!(key(&p), "service.batch_latency_ms[].0");
    }

    #[test]
    fn literals_and_positions() {
        let text = "a: 2.5,\nb: -1)";
        let at = text.find('.').unwrap_or(0);
        assert_eq!(literal_at(text, at), Some((3, "2.5")));
        let after = text.find(')').unwrap_or(0);
        assert_eq!(literal_at(text, after), Some((11, "-1")));
        assert_eq!(literal_at(text, 0), None);
        assert_eq!(offset_of(text, 2, 4), Some(11));
        assert_eq!(line_col_of(text, 11), (2, 4));
    }
}
