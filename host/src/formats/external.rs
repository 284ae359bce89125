//! Where the externally stored tensors of an ONNX model come from (ONNX
//! external data: PyTorch's default exporter writes the weights into a
//! sidecar file beside the model).

use std::path::Path;

/// A source of external tensor data. The reader has already checked that
/// `location` is a plain relative path (no root, no `..`).
pub trait ExternalData {
    /// `length` bytes of the file `location`, from byte `offset`; an error
    /// names the file and what is wrong with it.
    fn read(&self, location: &str, offset: u64, length: usize) -> Result<Vec<u8>, String>;
}

/// The model's folder on disk: a location must stay inside it (no symlink
/// out of it) and name a regular file; only the requested bytes are read.
#[derive(Debug, Clone, Copy)]
pub struct ModelFolder<'a>(pub &'a Path);

impl ExternalData for ModelFolder<'_> {
    fn read(&self, location: &str, offset: u64, length: usize) -> Result<Vec<u8>, String> {
        use std::io::{Read, Seek, SeekFrom};
        let folder = self.0;
        let file = folder.join(location);
        let inside = |p: &Path| -> Result<std::path::PathBuf, String> {
            p.canonicalize()
                .map_err(|e| format!("external data file {} cannot be read: {e}", file.display()))
        };
        let (root, real) = (inside(folder)?, inside(&file)?);
        if !real.starts_with(&root) {
            return Err(format!(
                "external data {location:?} leads out of the model's folder (to {}); refused",
                real.display()
            ));
        }
        let meta = std::fs::metadata(&real)
            .map_err(|e| format!("external data file {}: {e}", file.display()))?;
        if !meta.is_file() {
            return Err(format!(
                "external data {} is not a regular file",
                file.display()
            ));
        }
        let end = offset
            .checked_add(length as u64)
            .ok_or("external data offset overflows")?;
        if meta.len() < end {
            return Err(format!(
                "external data file {} holds {} bytes; the tensor needs bytes {offset} to {end} (truncated?)",
                file.display(),
                meta.len()
            ));
        }
        let mut f = std::fs::File::open(&real)
            .map_err(|e| format!("external data file {}: {e}", file.display()))?;
        let mut out = vec![0u8; length];
        f.seek(SeekFrom::Start(offset))
            .and_then(|_| f.read_exact(&mut out))
            .map_err(|e| format!("reading external data file {}: {e}", file.display()))?;
        Ok(out)
    }
}

/// Files held in memory, by name (for models built in memory, tests and
/// fuzzing).
#[derive(Debug, Clone, Copy)]
pub struct InMemoryFiles<'a>(pub &'a [(&'a str, &'a [u8])]);

impl ExternalData for InMemoryFiles<'_> {
    fn read(&self, location: &str, offset: u64, length: usize) -> Result<Vec<u8>, String> {
        let (_, bytes) = self
            .0
            .iter()
            .find(|(name, _)| *name == location)
            .ok_or_else(|| format!("no external data file {location:?}"))?;
        let start = usize::try_from(offset).ok();
        let range = start.and_then(|s| Some(s..s.checked_add(length)?));
        range
            .and_then(|r| bytes.get(r))
            .map(<[u8]>::to_vec)
            .ok_or_else(|| {
                format!(
                    "external data file {location:?} holds {} bytes; the tensor needs {length} from byte {offset} (truncated?)",
                    bytes.len()
                )
            })
    }
}
