//! Where results go, checked before a run starts and written so that an
//! interrupted or failed run never leaves a half-written file.
//!
//! * [`Target`]: a file or standard output (`-`).
//! * [`check_writable`], [`writable`], [`same_file`]: a file's folder exists
//!   and takes a new file, the path is no folder; two paths name one file.
//!   Called before the computation.
//! * [`write_atomic`]: writes `path` through a temporary file in the same
//!   folder and a rename, so a reader sees the old file or the new one.
//! * [`write_stdout`]: standard output without the panic of `println!` on
//!   a full or closed stdout.

use crate::HostError;
use crate::Param;
use std::io::Write;
use std::path::{Path, PathBuf};

/// One output of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Standard output (`-` on the command line).
    Stdout,
    /// A file.
    File(PathBuf),
}

impl Target {
    /// `-` is stdout, anything else a file.
    pub fn parse(s: &str) -> Target {
        if s == "-" {
            Target::Stdout
        } else {
            Target::File(PathBuf::from(s))
        }
    }
    /// Whether this is standard output.
    pub fn is_stdout(&self) -> bool {
        matches!(self, Target::Stdout)
    }
}

impl std::str::FromStr for Target {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Target::parse(s))
    }
}

/// The folder that holds `path` (`.` for a bare file name).
pub fn parent_folder(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The full path a file would be written at (for comparing two targets):
/// the folder canonicalised, the file name as given.
fn resolved(path: &Path) -> Option<PathBuf> {
    Some(
        parent_folder(path)
            .canonicalize()
            .ok()?
            .join(path.file_name()?),
    )
}

/// Checks a file target: its folder exists and takes a new file, and the
/// path itself is not a folder. Writes and removes a probe file. The error
/// names `param` and the path.
pub fn check_writable(param: Param, path: &Path) -> Result<(), HostError> {
    writable(path).map_err(|why| HostError::invalid(param, format!(" {}: {why}", path.display())))
}

/// Why `path` cannot take a new file (see [`check_writable`]).
pub fn writable(path: &Path) -> Result<(), String> {
    if path.file_name().is_none() || path.as_os_str().to_string_lossy().ends_with('/') {
        return Err("not a file name (it ends in a folder)".into());
    }
    if path.is_dir() {
        return Err("is a folder".into());
    }
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_symlink() {
            return Err(
                "is a symbolic link; a run writes a new file in its place, so name the file itself"
                    .into(),
            );
        }
        if !meta.is_file() {
            return Err("is not a regular file (a pipe, a device or a socket), which a run would replace; give a file, or - for standard output".into());
        }
    }
    let parent = parent_folder(path);
    if !parent.is_dir() {
        return Err(format!("folder {} does not exist", parent.display()));
    }
    let probe = parent.join(format!(".gatedyn-probe-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .map_err(|e| format!("cannot create files in {}: {e}", parent.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Whether two paths name the same file (after resolving their folders).
pub fn same_file(a: &Path, b: &Path) -> bool {
    resolved(a) == resolved(b)
}

/// A sibling of `path` for its temporary copy: `.name.tmp-PID.ext` (the
/// extension kept, so that writers choosing a format by extension work).
pub fn temporary_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = match path.extension() {
        Some(ext) => {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            format!(
                ".{stem}.tmp-{}.{}",
                std::process::id(),
                ext.to_string_lossy()
            )
        }
        None => format!(".{name}.tmp-{}", std::process::id()),
    };
    path.with_file_name(tmp)
}

/// Produces `path` through `make(temporary path)` and a rename: on any
/// error the temporary file is removed and `path` is untouched.
pub fn produce_atomic(
    path: &Path,
    make: impl FnOnce(&Path) -> Result<(), HostError>,
) -> Result<(), HostError> {
    let tmp = temporary_sibling(path);
    let r = make(&tmp).and_then(|()| {
        std::fs::rename(&tmp, path)
            .map_err(|e| HostError::Io(format!("cannot write {}: {e}", path.display())))
    });
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// Writes `text` to `path` atomically ([`produce_atomic`]).
pub fn write_atomic(path: &Path, text: &str) -> Result<(), HostError> {
    write_atomic_bytes(path, text.as_bytes())
}

/// Writes `bytes` to `path` atomically ([`produce_atomic`]).
pub fn write_atomic_bytes(path: &Path, bytes: &[u8]) -> Result<(), HostError> {
    produce_atomic(path, |tmp| {
        let mut f = std::fs::File::create(tmp)
            .map_err(|e| HostError::Io(format!("cannot write {}: {e}", path.display())))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| HostError::Io(format!("cannot write {}: {e}", path.display())))
    })
}

/// A file that a long run grows by whole lines as it finishes its parts:
/// each line goes out in one write and is flushed, so a run stopped at any
/// point leaves the lines of the parts it finished (and at most a last
/// line cut short, without its newline). Shared between threads.
#[derive(Debug)]
pub struct LineLog {
    path: PathBuf,
    file: std::sync::Mutex<std::fs::File>,
}

impl LineLog {
    /// Opens `path` to append lines to (created when missing).
    pub fn append_to(path: &Path) -> Result<Self, HostError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| HostError::Io(format!("cannot write {}: {e}", path.display())))?;
        Ok(LineLog {
            path: path.to_path_buf(),
            file: std::sync::Mutex::new(file),
        })
    }

    /// Appends `line` and a newline, and flushes.
    pub fn push(&self, line: &str) -> Result<(), HostError> {
        let mut whole = String::with_capacity(line.len() + 1);
        whole.push_str(line);
        whole.push('\n');
        // a thread that panicked while holding the lock wrote a whole
        // line or none: the file is still usable
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        file.write_all(whole.as_bytes())
            .and_then(|()| file.flush())
            .map_err(|e| HostError::Io(format!("cannot write {}: {e}", self.path.display())))
    }
}

/// Writes `text` and a newline to stdout; a full or closed stdout is an
/// I/O error, not a panic.
pub fn write_stdout(text: &str) -> Result<(), HostError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| HostError::Io(format!("cannot write to stdout: {e}")))
}

/// Writes `text` to a target.
pub fn write_target(target: &Target, text: &str) -> Result<(), HostError> {
    match target {
        Target::Stdout => write_stdout(text),
        Target::File(p) => write_atomic(p, text),
    }
}

/// Serialises `value` as pretty JSON.
pub fn to_json<T: serde::Serialize>(value: &T) -> Result<String, HostError> {
    serde_json::to_string_pretty(value)
        .map_err(|e| HostError::Io(format!("cannot serialise the result as JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("gatedyn-output-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn missing_folders_and_folders_as_files_are_refused() {
        let d = tmpdir("paths");
        let e = check_writable(Param::Json, &d.join("no/such/x.json")).unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
        let e = check_writable(Param::Json, &d).unwrap_err();
        assert!(e.to_string().ends_with("is a folder"), "{e}");
        assert!(check_writable(Param::Json, &d.join("ok.json")).is_ok());
        assert_eq!(
            std::fs::read_dir(&d).unwrap().count(),
            0,
            "the probe is removed"
        );
    }

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let d = tmpdir("atomic");
        let p = d.join("r.json");
        std::fs::write(&p, "old").unwrap();
        let r = produce_atomic(&p, |tmp| {
            std::fs::write(tmp, "half").unwrap();
            Err(HostError::Io("disk full".into()))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "old");
        assert_eq!(
            std::fs::read_dir(&d).unwrap().count(),
            1,
            "no temporary left"
        );
        write_atomic(&p, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        assert_eq!(
            temporary_sibling(Path::new("a/b.svg")),
            PathBuf::from(format!("a/.b.tmp-{}.svg", std::process::id()))
        );
    }
}
