//! Reading input files safely: only regular files (a FIFO would hang a
//! run, `/dev/zero` or `/dev/urandom` would fill memory, also behind a
//! symlink), and at most a stated number of bytes.

use std::io::Read;
use std::path::Path;

/// The bytes of the regular file at `path` (symlinks followed), refused
/// before anything is read when it is a FIFO, a device, a socket or a
/// folder, or when it holds more than `max` bytes. The error says which,
/// without the path (the caller names the file).
pub fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    let len = regular_len(path)?;
    if len > max {
        return Err(format!(
            "holds {len} bytes, more than the {max} this input may have"
        ));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    std::fs::File::open(path)
        .and_then(|f| f.take(max.saturating_add(1)).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > max {
        return Err(format!(
            "holds more than the {max} bytes this input may have"
        ));
    }
    Ok(bytes)
}

/// The length of the regular file at `path`, with the refusals of
/// [`read_regular`].
pub fn regular_len(path: &Path) -> Result<u64, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if meta.is_dir() {
        return Err("is a folder, not a file".into());
    }
    if !meta.is_file() {
        return Err("is not a regular file (a pipe, a device or a socket); give a file".into());
    }
    Ok(meta.len())
}

/// `read_regular` as UTF-8 text.
pub fn read_regular_text(path: &Path, max: u64) -> Result<String, String> {
    String::from_utf8(read_regular(path, max)?).map_err(|_| "is not UTF-8 text".into())
}
