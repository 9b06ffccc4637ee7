//! App layer: the folder listing behind the file dialog — entries sorted folders first,
//! the filter by kind of file (plans, or model configs), and the `.ron` a typed file
//! name gets. Plain functions, so they are tested without a window.

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

/// The kind of file a dialog is for: what it lists and how it names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FileKind {
    /// RON plan files (`*.ron`).
    #[default]
    Plan,
    /// Hugging Face model configs (`config.json`, any `*.json`).
    ModelConfig,
}

impl FileKind {
    /// The extension the filter keeps, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            FileKind::Plan => "ron",
            FileKind::ModelConfig => "json",
        }
    }

    /// What one file of this kind is called in the dialog's words ("plan file").
    pub fn noun(self) -> &'static str {
        match self {
            FileKind::Plan => "plan file",
            FileKind::ModelConfig => "model config",
        }
    }

    /// The filter's radio label and its tooltip.
    pub fn filter_text(self) -> (&'static str, &'static str) {
        match self {
            FileKind::Plan => (
                "plans (*.ron)",
                "List only .ron plan files (folders always show).",
            ),
            FileKind::ModelConfig => (
                "configs (*.json)",
                "List only .json files, such as a Hugging Face config.json (folders always show).",
            ),
        }
    }

    /// What Open does with the selected file (its button's tooltip).
    pub fn open_hint(self) -> &'static str {
        match self {
            FileKind::Plan => "Load the selected plan, or enter the selected folder (Enter).",
            FileKind::ModelConfig => {
                "Profile the selected model config, or enter the selected folder (Enter)."
            }
        }
    }
}

/// Whether `entry` is listed: folders always, files when `all_files` or of `kind`.
pub fn shows(entry: &Entry, all_files: bool, kind: FileKind) -> bool {
    let ext = kind.extension();
    let wanted = (entry.path.extension()).is_some_and(|e| e.eq_ignore_ascii_case(ext));
    entry.is_dir || all_files || wanted
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
        let plans = FileKind::Plan;
        assert!(shows(&plan, false, plans) && shows(&upper, false, plans));
        assert!(!shows(&text, false, plans));
        assert!(shows(&text, true, plans));
        assert!(shows(&dir, false, plans));
    }

    #[test]
    fn the_configs_filter_keeps_json_and_folders_only() {
        let configs = FileKind::ModelConfig;
        assert!(shows(&entry("config.json", false), false, configs));
        assert!(shows(&entry("GPT2.JSON", false), false, configs));
        assert!(!shows(&entry("p.ron", false), false, configs));
        assert!(shows(&entry("p.ron", false), true, configs));
        assert!(shows(&entry("models", true), false, configs));
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
