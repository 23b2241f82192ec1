//! Writing a run directory whole or not at all. Everything is written into a
//! temporary sibling (`.NAME.partial-XXXX`), synced, and renamed into place
//! when complete; a lock beside it (`.NAME.lock`) refuses a second writer.
//! A crash, a full disk or a signal leaves the previous directory (or none)
//! at `--out`, never a mix of two audits or a truncated file.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use super::RUN_JSON;

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// Refusals that a different `--out` or `--replace` fixes (exit 2).
    #[error("{dir}: {reason}")]
    Refused { dir: String, reason: String },
    /// Another deskaudit is writing the same directory.
    #[error(
        "{dir}: another deskaudit is writing this directory (lock {lock} is held); wait for it to finish, or choose another --out"
    )]
    Busy { dir: String, lock: String },
    /// The file system failed us (permissions, full disk, ...).
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
}

impl OutputError {
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
        move |source| OutputError::Io {
            file: path.display().to_string(),
            source,
        }
    }
}

/// What to do when `--out` already holds something.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Refuse a directory that is not empty.
    Refuse,
    /// Replace a previous run directory (one with a run.json) as a whole.
    Replace,
}

/// An exclusive lock on a run directory, held from before it is written
/// until after it is in place. The lock file lives beside the directory (the
/// directory itself may not exist yet, and is replaced by a rename).
#[derive(Debug)]
pub struct DirLock {
    file: File,
    path: PathBuf,
}

impl DirLock {
    /// Takes the lock for `dir`, or says who holds it.
    pub fn acquire(dir: &Path) -> Result<DirLock, OutputError> {
        let (parent, name) = split(dir)?;
        let path = parent.join(format!(".{name}.lock"));
        loop {
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(&path)
                .map_err(OutputError::io(&path))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    return Err(OutputError::Busy {
                        dir: dir.display().to_string(),
                        lock: path.display().to_string(),
                    });
                }
                Err(TryLockError::Error(e)) => return Err(OutputError::io(&path)(e)),
            }
            // The holder before us removes the file as it lets go: a lock
            // taken on a file no longer at `path` locks nothing anyone sees.
            if same_file(&file, &path) {
                return Ok(DirLock { file, path });
            }
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Removed while still locked, then unlocked by closing.
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &File, path: &Path) -> bool {
    path.exists()
}

/// A run directory being written: everything goes to [`Staging::path`], and
/// [`Staging::commit`] puts it at the final path. Dropped uncommitted, the
/// partial directory is removed and the final path is untouched.
#[derive(Debug)]
pub struct Staging {
    target: PathBuf,
    existing: Existing,
    tmp: tempfile::TempDir,
    // Last: the lock outlives the partial directory's removal.
    _lock: DirLock,
}

impl Staging {
    /// Locks `target`, checks what is there now, and opens a partial
    /// directory beside it. Called before any work, so a refusal costs nothing.
    pub fn begin(target: &Path, existing: Existing) -> Result<Staging, OutputError> {
        let (parent, _) = split(target)?;
        std::fs::create_dir_all(&parent).map_err(OutputError::io(&parent))?;
        let lock = DirLock::acquire(target)?;
        check_existing(target, existing)?;
        let (parent, name) = split(target)?;
        remove_leftovers(&parent, &name);
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}.partial-"))
            .tempdir_in(&parent)
            .map_err(OutputError::io(&parent))?;
        Ok(Staging {
            target: target.to_path_buf(),
            existing,
            tmp,
            _lock: lock,
        })
    }

    /// Where to write now.
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// Where the run will be once committed.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// `path` as it will be named once the run is in place: a file written
    /// under [`Staging::path`] is recorded under the final directory.
    pub fn final_path(&self, path: &Path) -> PathBuf {
        match path.strip_prefix(self.tmp.path()) {
            Ok(rest) => self.target.join(rest),
            Err(_) => path.to_path_buf(),
        }
    }

    /// Syncs every file written, then renames the directory into place
    /// (replacing a previous run as a whole, where that was asked for).
    pub fn commit(self) -> Result<PathBuf, OutputError> {
        sync_tree(self.tmp.path())?;
        let (parent, name) = split(&self.target)?;
        // Checked again under the lock: nothing may have appeared meanwhile.
        check_existing(&self.target, self.existing)?;
        let old = match std::fs::symlink_metadata(&self.target) {
            Ok(_) if is_empty_dir(&self.target) => {
                std::fs::remove_dir(&self.target).map_err(OutputError::io(&self.target))?;
                None
            }
            Ok(_) => {
                let aside = tempfile::Builder::new()
                    .prefix(&format!(".{name}.replaced-"))
                    .tempdir_in(&parent)
                    .map_err(OutputError::io(&parent))?
                    .keep();
                // rename(2) onto an empty directory replaces it.
                std::fs::rename(&self.target, &aside).map_err(OutputError::io(&self.target))?;
                Some(aside)
            }
            Err(_) => None,
        };
        let partial = self.tmp.keep();
        if let Err(e) = std::fs::rename(&partial, &self.target) {
            // Put the previous run back: better the old run than none.
            if let Some(old) = &old {
                let _ = std::fs::rename(old, &self.target);
            }
            let _ = std::fs::remove_dir_all(&partial);
            return Err(OutputError::io(&self.target)(e));
        }
        sync_dir(&parent);
        if let Some(old) = old {
            let _ = std::fs::remove_dir_all(old);
        }
        Ok(self.target)
    }
}

/// The parent directory (`.` for a bare name) and the final component.
fn split(dir: &Path) -> Result<(PathBuf, String), OutputError> {
    let refused = |reason: &str| OutputError::Refused {
        dir: dir.display().to_string(),
        reason: reason.to_owned(),
    };
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| refused("not a directory name that can be written (e.g. `.`, `..` or `/`)"))?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((parent, name.to_owned()))
}

fn check_existing(target: &Path, existing: Existing) -> Result<(), OutputError> {
    let refused = |reason: String| OutputError::Refused {
        dir: target.display().to_string(),
        reason,
    };
    let meta = match std::fs::symlink_metadata(target) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(OutputError::io(target)(e)),
    };
    if !meta.is_dir() {
        return Err(refused(
            "exists and is not a directory: --out names the directory the run is written to".into(),
        ));
    }
    if is_empty_dir(target) {
        return Ok(());
    }
    match existing {
        Existing::Refuse => Err(refused(
            "is not empty: a run directory holds exactly one audit. Choose a new --out, or pass --replace to replace the previous run as a whole".into(),
        )),
        Existing::Replace if target.join(RUN_JSON).is_file() => Ok(()),
        Existing::Replace => Err(refused(
            "is not empty and holds no run.json, so it is not a deskaudit run directory: refusing to replace it".into(),
        )),
    }
}

fn is_empty_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none())
}

/// Partial and replaced directories of runs that were killed before they
/// could clean up. Only called under the lock, so none of them is live.
fn remove_leftovers(parent: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let partial = format!(".{name}.partial-");
    let replaced = format!(".{name}.replaced-");
    for entry in entries.flatten() {
        let file = entry.file_name();
        let file = file.to_string_lossy();
        if file.starts_with(&partial) || file.starts_with(&replaced) {
            tracing::info!(leftover = %entry.path().display(), "removing a run directory left by an interrupted run");
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// fsync every file below `dir`, and the directories themselves.
fn sync_tree(dir: &Path) -> Result<(), OutputError> {
    for entry in std::fs::read_dir(dir).map_err(OutputError::io(dir))? {
        let entry = entry.map_err(OutputError::io(dir))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(OutputError::io(&path))?;
        if kind.is_dir() {
            sync_tree(&path)?;
        } else if kind.is_file() {
            File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(OutputError::io(&path))?;
        }
    }
    sync_dir(dir);
    Ok(())
}

/// Best effort: not every platform can sync a directory.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).expect("write");
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_committed_run_appears_whole_and_nothing_else_is_left() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("Q4");
        let staging = Staging::begin(&out, Existing::Refuse).expect("begin");
        assert!(!out.exists(), "nothing at --out while writing");
        write(staging.path(), RUN_JSON, "{}");
        assert_eq!(
            staging.final_path(&staging.path().join("x.csv")),
            out.join("x.csv")
        );
        staging.commit().expect("commit");
        assert_eq!(names(&out), [RUN_JSON]);
        assert_eq!(names(tmp.path()), ["Q4"], "no partial directory, no lock file");
    }

    #[test]
    fn an_uncommitted_run_leaves_nothing() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("Q4");
        let staging = Staging::begin(&out, Existing::Refuse).expect("begin");
        write(staging.path(), "findings.csv", "half");
        drop(staging);
        assert_eq!(names(tmp.path()), Vec::<String>::new());
    }

    #[test]
    fn a_non_empty_out_is_refused_unless_it_is_a_run_to_replace() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("Q4");
        std::fs::create_dir(&out).expect("mkdir");
        write(&out, "notes.txt", "mine");
        for existing in [Existing::Refuse, Existing::Replace] {
            let err = Staging::begin(&out, existing).expect_err("refused");
            assert!(matches!(err, OutputError::Refused { .. }), "{err}");
        }
        write(&out, RUN_JSON, "{\"old\": true}");
        write(&out, "decisions.json", "old decisions");
        assert!(Staging::begin(&out, Existing::Refuse).is_err());
        let staging = Staging::begin(&out, Existing::Replace).expect("a run is replaced");
        write(staging.path(), RUN_JSON, "{\"new\": true}");
        staging.commit().expect("commit");
        assert_eq!(names(&out), [RUN_JSON], "the old run's files are gone with it");
        assert_eq!(
            std::fs::read_to_string(out.join(RUN_JSON)).expect("run"),
            "{\"new\": true}"
        );
        assert_eq!(names(tmp.path()), ["Q4"]);
        // An empty directory or a file.
        let empty = tmp.path().join("empty");
        std::fs::create_dir(&empty).expect("mkdir");
        Staging::begin(&empty, Existing::Refuse)
            .expect("empty is fine")
            .commit()
            .expect("commit");
        let file = tmp.path().join("file");
        write(tmp.path(), "file", "x");
        assert!(Staging::begin(&file, Existing::Replace).is_err());
    }

    #[test]
    fn a_second_writer_is_refused_while_the_first_holds_the_lock() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("Q4");
        let first = Staging::begin(&out, Existing::Refuse).expect("first");
        let err = Staging::begin(&out, Existing::Refuse).expect_err("second");
        assert!(matches!(err, OutputError::Busy { .. }), "{err}");
        drop(first);
        Staging::begin(&out, Existing::Refuse).expect("free again");
    }

    #[test]
    fn leftovers_of_a_killed_run_are_cleared_by_the_next() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("Q4");
        let killed = tmp.path().join(".Q4.partial-abc123");
        std::fs::create_dir(&killed).expect("mkdir");
        write(&killed, "findings.json", "{\"trunc");
        let staging = Staging::begin(&out, Existing::Refuse).expect("begin");
        assert!(!killed.exists());
        staging.commit().expect("commit");
    }
}
