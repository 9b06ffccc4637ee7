//! Shared utility layer (below plan, profile, cli and app): the one way costscope writes
//! a file — atomically, so a crash or a full disk never leaves a half-written plan,
//! report, cache or export behind.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically: a temp file in the same folder (so the rename
/// never crosses file systems), flushed to disk, then renamed over the target. An
/// existing file keeps its permissions; a symbolic link is followed and the file it
/// points to is replaced (the link stays). On any error the temp file is removed and
/// the target is left as it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let target = resolve(path)?;
    let keep = std::fs::metadata(&target).ok().map(|m| m.permissions());
    with_temp(&target, bytes, keep, |tmp| std::fs::rename(tmp, &target))
}

/// Like [`write_atomic`], but never replaces an existing file: the error kind is then
/// [`std::io::ErrorKind::AlreadyExists`]. The check and the write are one step (a hard
/// link of the finished temp file), so a file created meanwhile is not overwritten
/// either.
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let target = resolve(path)?;
    if std::fs::symlink_metadata(&target).is_ok() {
        return Err(exists(&target));
    }
    with_temp(&target, bytes, None, |tmp| {
        match std::fs::hard_link(tmp, &target) {
            Ok(()) => std::fs::remove_file(tmp),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(exists(&target)),
            // A file system without hard links: the check above is the best there is.
            Err(_) => std::fs::rename(tmp, &target),
        }
    })
}

/// Checks, before a long run, that `path` could be written: it is not a folder, and its
/// folder exists and accepts a new file (one is created there and removed).
pub fn check_writable(path: &Path) -> std::io::Result<()> {
    let target = resolve(path)?;
    with_temp(&target, b"", None, |tmp| std::fs::remove_file(tmp))
}

/// The file a write to `path` replaces: `path` itself, or where its symbolic link
/// points. A folder, or a link to nothing, is an error that says so.
fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).map_err(|e| {
            std::io::Error::new(e.kind(), "it is a symbolic link to a missing file")
        })?,
        _ => path.to_owned(),
    };
    if target.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "it is a folder",
        ));
    }
    Ok(target)
}

fn exists(path: &Path) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        format!("{} already exists", path.display()),
    )
}

/// Writes `bytes` to a fresh temp file beside `target` (with `permissions` when
/// given), then hands it to `finish`; the temp file never outlives an error.
fn with_temp(
    target: &Path,
    bytes: &[u8],
    permissions: Option<std::fs::Permissions>,
    finish: impl FnOnce(&Path) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let tmp = temp_path(target);
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        if let Some(p) = permissions {
            f.set_permissions(p)?;
        }
        f.sync_all()?;
        drop(f);
        finish(&tmp)
    })();
    if result.is_err() {
        // Best effort: the temp file is ours and useless after a failure.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The temp file beside `path`: hidden, named after the target, this process and a
/// counter (two writes at once from one process never share a temp file).
fn temp_path(path: &Path) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    dir.join(format!(".{name}.tmp-{}-{n}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces_whole_files() {
        let dir = std::env::temp_dir().join(format!("costscope-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.txt");
        write_atomic(&path, b"first version, long").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second");
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(left.len(), 1, "no temp file is left beside the target");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("costscope-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[cfg(unix)]
    #[test]
    fn a_replaced_file_keeps_its_mode_and_a_link_stays_a_link() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("mode");
        let real = dir.join("real.ron");
        std::fs::write(&real, "old").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.join("link.ron");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dangling = dir.join("dangling.ron");
        std::os::unix::fs::symlink(dir.join("missing.ron"), &dangling).unwrap();
        let e = write_atomic(&dangling, b"x").unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(names(&dir), ["dangling.ron", "link.ron", "real.ron"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn write_new_never_replaces() {
        let dir = scratch("new");
        let path = dir.join("a.txt");
        write_new(&path, b"first").unwrap();
        let e = write_new(&path, b"second").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "first");
        assert_eq!(names(&dir), ["a.txt"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn writability_is_checked_without_leaving_anything() {
        let dir = scratch("check");
        check_writable(&dir.join("report.json")).unwrap();
        assert!(names(&dir).is_empty());
        assert!(check_writable(&dir.join("no-such-folder").join("r.json")).is_err());
        let e = check_writable(&dir).unwrap_err();
        assert!(e.to_string().contains("folder"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_write_leaves_no_temp_file() {
        let dir = std::env::temp_dir().join(format!("costscope-files-dir-{}", std::process::id()));
        let target = dir.join("a-folder");
        std::fs::create_dir_all(&target).unwrap();
        // A folder is never replaced; the folder stays, no temp remains.
        std::fs::write(target.join("inside"), b"x").unwrap();
        let e = write_atomic(&target, b"data").unwrap_err();
        assert!(e.to_string().contains("folder"), "{e}");
        assert!(target.is_dir());
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["a-folder".to_owned()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
