//! App layer: the folder listing behind the file dialog — entries sorted folders first,
//! the plans-only filter, and the `.ron` a typed file name gets. Plain functions, so
//! they are tested without a window.

use std::path::{Path, PathBuf};

/// One name in the listed folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The name as shown (lossy when it is not UTF-8).
    pub name: String,
    /// The exact path, so a non-UTF-8 name still opens.
    pub path: PathBuf,
    /// A folder, or a link to one.
    pub is_dir: bool,
}

/// Folders first, then names case-insensitively (exact name breaks ties).
pub fn sort_entries(entries: &mut [Entry]) {
    entries.sort_by_cached_key(|e| (!e.is_dir, e.name.to_lowercase(), e.name.clone()));
}

/// Whether `entry` is listed: folders always, files when `all_files` or a `.ron` plan.
pub fn shows(entry: &Entry, all_files: bool) -> bool {
    let plan = (entry.path.extension()).is_some_and(|e| e.eq_ignore_ascii_case("ron"));
    entry.is_dir || all_files || plan
}

/// The typed file name, trimmed, with `.ron` appended when it has no extension;
/// `None` when nothing was typed.
pub fn with_ron_extension(name: &str) -> Option<PathBuf> {
    let name = name.trim();
    let path = PathBuf::from(name);
    match path.extension() {
        _ if name.is_empty() => None,
        Some(_) => Some(path),
        None => Some(PathBuf::from(format!("{name}.ron"))),
    }
}

/// Lists `dir`, sorted; entries that vanish while being read are skipped.
pub fn read_entries(dir: &Path) -> Result<Vec<Entry>, String> {
    let reader =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut entries: Vec<Entry> = (reader.filter_map(Result::ok))
        .map(|item| Entry {
            name: item.file_name().to_string_lossy().into_owned(),
            is_dir: item.path().is_dir(),
            path: item.path(),
        })
        .collect();
    sort_entries(&mut entries);
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, is_dir: bool) -> Entry {
        Entry {
            name: name.into(),
            path: PathBuf::from("/x").join(name),
            is_dir,
        }
    }

    #[test]
    fn folders_come_first_then_names_ignoring_case() {
        let mut entries = vec![
            entry("b.ron", false),
            entry("Zeta", true),
            entry("A.txt", false),
            entry("alpha", true),
        ];
        sort_entries(&mut entries);
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["alpha", "Zeta", "A.txt", "b.ron"]);
    }

    #[test]
    fn the_plans_filter_hides_other_files_but_never_folders() {
        let (plan, upper, text, dir) = (
            entry("p.ron", false),
            entry("P.RON", false),
            entry("notes.txt", false),
            entry("sub.txt", true),
        );
        assert!(shows(&plan, false) && shows(&upper, false));
        assert!(!shows(&text, false));
        assert!(shows(&text, true));
        assert!(shows(&dir, false));
    }

    #[test]
    fn ron_is_appended_only_without_an_extension() {
        assert_eq!(
            with_ron_extension(" mine "),
            Some(PathBuf::from("mine.ron"))
        );
        assert_eq!(
            with_ron_extension("mine.ron"),
            Some(PathBuf::from("mine.ron"))
        );
        assert_eq!(
            with_ron_extension("mine.txt"),
            Some(PathBuf::from("mine.txt"))
        );
        assert_eq!(with_ron_extension("   "), None);
    }

    #[test]
    fn a_missing_folder_is_an_error_naming_it() {
        let err = read_entries(Path::new("/no/such/costscope/folder")).unwrap_err();
        assert!(
            err.contains("/no/such/costscope/folder") && err.contains("os error"),
            "{err}"
        );
    }
}
