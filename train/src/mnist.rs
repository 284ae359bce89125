//! The MNIST digits from the standard IDX files (LeCun et al. 1998), as
//! sequential MNIST reads them: the folder `DIR` holds
//! `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
//! `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`, each either as
//! is or gzipped (`.gz` appended, as they are distributed).
//!
//! IDX: a big-endian header (two zero bytes, the type `0x08` for unsigned
//! bytes, the number of dimensions), one big-endian `u32` per dimension,
//! then the values. Images are `count × rows × cols`, labels `count`.
//! Every malformed file is a [`HostError::Invalid`] naming it.

use gatedyn_host::HostError;
use gatedyn_host::Param;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The IDX files of one split, by their standard names.
/// The standard file names of a split's images and labels.
const fn files(split: Split) -> (&'static str, &'static str) {
    match split {
        Split::Train => ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        Split::Test => ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    }
}

/// At most this many images per file (MNIST has 60,000; EMNIST 814,255).
pub const MAX_IMAGES: usize = 1 << 20;
/// At most this many pixels per image (MNIST has 784).
pub const MAX_PIXELS: usize = 1 << 16;

/// The training or the test split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// `train-*`.
    Train,
    /// `t10k-*`.
    Test,
}

/// Images with their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Digits {
    /// Pixels per image (`rows × cols`, 784 for MNIST).
    pub pixels: usize,
    /// `count × pixels` bytes, row-major images one after another.
    pub images: Vec<u8>,
    /// One label (`0..=9`) per image.
    pub labels: Vec<u8>,
}

impl Digits {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Image `k`'s pixels.
    pub fn image(&self, k: usize) -> &[u8] {
        &self.images[k * self.pixels..(k + 1) * self.pixels]
    }
}

/// Reads one split from `dir` (plain or `.gz` files; the plain one wins).
pub fn load(dir: &Path, split: Split) -> Result<Digits, HostError> {
    let (images, labels) = files(split);
    if !dir.is_dir() {
        return Err(HostError::invalid(
            Param::Mnist,
            format!(
                " {}: not a folder (it should hold the four IDX files: {})",
                dir.display(),
                [Split::Train, Split::Test]
                    .into_iter()
                    .flat_map(|split| <[&str; 2]>::from(files(split)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let (image_path, dims, pixels) = read(dir, images, 3)?;
    let (label_path, ldims, labels) = read(dir, labels, 1)?;
    let (count, size) = (dims[0], dims[1] * dims[2]);
    if size == 0 || size > MAX_PIXELS {
        return Err(HostError::invalid(
            Param::Mnist,
            format!(
                " {}: images of {}×{} pixels; 1 to {MAX_PIXELS} are supported",
                image_path.display(),
                dims[1],
                dims[2]
            ),
        ));
    }
    if ldims[0] != count {
        return Err(HostError::invalid(
            Param::Mnist,
            format!(
                " {}: {} labels for the {count} images of {}",
                label_path.display(),
                ldims[0],
                image_path.display()
            ),
        ));
    }
    if let Some(k) = labels.iter().position(|&l| l > 9) {
        return Err(HostError::invalid(
            Param::Mnist,
            format!(
                " {}: label {k} is {}; digits are 0 to 9",
                label_path.display(),
                labels[k]
            ),
        ));
    }
    if count == 0 {
        return Err(HostError::invalid(
            Param::Mnist,
            format!(" {}: no images", image_path.display()),
        ));
    }
    Ok(Digits {
        pixels: size,
        images: pixels,
        labels,
    })
}

/// The IDX file `name` (or `name.gz`, decompressed) in `dir` with `rank`
/// dimensions: its path, dimensions and values. The header is read and
/// checked first, and then exactly the bytes it declares: a file with a
/// wrong header, or a gzip that inflates past what its header declares, is
/// refused before the rest is read or inflated.
fn read(dir: &Path, name: &str, rank: usize) -> Result<(PathBuf, Vec<usize>, Vec<u8>), HostError> {
    let plain = dir.join(name);
    let gz = dir.join(format!("{name}.gz"));
    let (path, reader, source): (PathBuf, Box<dyn Read>, Source) = if plain.is_file() {
        let file = std::fs::File::open(&plain).map_err(|e| cannot(&plain, e))?;
        let len = file.metadata().map_err(|e| cannot(&plain, e))?.len();
        (plain, Box::new(file), Source::Plain(len))
    } else if gz.is_file() {
        let file = std::fs::File::open(&gz).map_err(|e| cannot(&gz, e))?;
        let len = file.metadata().map_err(|e| cannot(&gz, e))?.len();
        (
            gz,
            Box::new(flate2::read::GzDecoder::new(file)),
            Source::Gzip(len),
        )
    } else {
        return Err(HostError::invalid(
            Param::Mnist,
            format!(
                " {}: no file {name} (or {name}.gz); the folder should hold the four MNIST IDX files",
                dir.display()
            ),
        ));
    };
    let (dims, data) = read_idx(&path, reader, source, rank)?;
    Ok((path, dims, data))
}

/// The dimensions and values of an IDX file of unsigned bytes with `rank`
/// dimensions held in `bytes` (gzipped when `gzip`); errors name `path`:
/// the file reader of [`load`] in memory (and the fuzz targets).
pub fn decode_idx(
    path: &Path,
    bytes: &[u8],
    gzip: bool,
    rank: usize,
) -> Result<(Vec<usize>, Vec<u8>), HostError> {
    let len = bytes.len() as u64;
    if gzip {
        read_idx(
            path,
            flate2::read::GzDecoder::new(bytes),
            Source::Gzip(len),
            rank,
        )
    } else {
        read_idx(path, bytes, Source::Plain(len), rank)
    }
}

/// What an IDX reader reads from: a plain file of this many bytes, or a
/// gzip file of this many (compressed) bytes.
#[derive(Clone, Copy)]
enum Source {
    Plain(u64),
    Gzip(u64),
}

/// Deflate's largest expansion: a stream of `n` bytes inflates to at most
/// about 1032·`n` (RFC 1951: a 258-byte match per 2 bits at best; zlib's
/// technical details give 1032:1).
const MAX_INFLATION: u64 = 1032;

/// [`read`] from `reader`, which holds what `source` says.
fn read_idx(
    path: &Path,
    mut reader: impl Read,
    source: Source,
    rank: usize,
) -> Result<(Vec<usize>, Vec<u8>), HostError> {
    let is_gz = matches!(source, Source::Gzip(_));
    let bad = |why: String| HostError::invalid(Param::Mnist, format!(" {}: {why}", path.display()));
    let unreadable = |e: std::io::Error| {
        if is_gz {
            bad(format!("not a readable gzip file ({e})"))
        } else {
            bad(format!("cannot read: {e}"))
        }
    };
    let mut header = vec![0u8; 4 + 4 * rank];
    let mut got = 0;
    while got < header.len() {
        match reader.read(&mut header[got..]).map_err(unreadable)? {
            0 => break,
            k => got += k,
        }
    }
    header.truncate(got);
    let (dims, size) = parse_header(path, &header, rank)?;
    match source {
        Source::Plain(len) => {
            if len != (header.len() + size) as u64 {
                return Err(bad(format!(
                    "the header {dims:?} promises {size} values but the file holds {} (truncated?)",
                    len.saturating_sub(header.len() as u64)
                )));
            }
        }
        Source::Gzip(len) => {
            // a header that declares more than the file can inflate to is
            // refused before anything is allocated or inflated
            if (size as u64).saturating_add(header.len() as u64) > len.saturating_mul(MAX_INFLATION)
            {
                return Err(bad(format!(
                    "the header {dims:?} promises {size} values, more than a {len}-byte gzip file can hold (at most {MAX_INFLATION}× its size)"
                )));
            }
            if let Some(avail) = gatedyn_host::io::limits::allocatable() {
                if size as u64 > avail {
                    return Err(bad(format!(
                        "the header {dims:?} promises {size} bytes, more than the {avail} this process may allocate"
                    )));
                }
            }
        }
    }
    let mut data = Vec::with_capacity(size);
    reader
        .take(size as u64 + 1)
        .read_to_end(&mut data)
        .map_err(unreadable)?;
    if data.len() != size {
        return Err(bad(format!(
            "the header {dims:?} promises {size} values but the file holds {} (truncated?)",
            if data.len() > size {
                "more".to_string()
            } else {
                data.len().to_string()
            }
        )));
    }
    Ok((dims, data))
}

fn cannot(p: &Path, e: std::io::Error) -> HostError {
    HostError::invalid(Param::Mnist, format!(" {}: cannot read: {e}", p.display()))
}

/// The dimensions of an IDX header of unsigned bytes with `rank`
/// dimensions, and the number of values it declares.
fn parse_header(path: &Path, bytes: &[u8], rank: usize) -> Result<(Vec<usize>, usize), HostError> {
    let bad = |why: String| HostError::invalid(Param::Mnist, format!(" {}: {why}", path.display()));
    let header = 4 + 4 * rank;
    if bytes.len() < header {
        return Err(bad(format!(
            "{} bytes, shorter than an IDX header ({header})",
            bytes.len()
        )));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(bad(
            "not an IDX file (it does not start with two zero bytes)".into(),
        ));
    }
    if bytes[2] != 0x08 {
        return Err(bad(format!(
            "IDX type 0x{:02x}; MNIST files hold unsigned bytes (0x08)",
            bytes[2]
        )));
    }
    if bytes[3] as usize != rank {
        return Err(bad(format!(
            "{} dimensions; expected {rank} ({})",
            bytes[3],
            if rank == 3 {
                "images × rows × columns"
            } else {
                "labels"
            }
        )));
    }
    let dims: Vec<usize> = (0..rank)
        .map(|k| {
            let b = &bytes[4 + 4 * k..8 + 4 * k];
            u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
        })
        .collect();
    if dims[0] > MAX_IMAGES {
        return Err(bad(format!(
            "{} entries; at most {MAX_IMAGES} are supported",
            dims[0]
        )));
    }
    let size = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&s| s <= MAX_IMAGES * MAX_PIXELS)
        .ok_or_else(|| bad(format!("dimensions {dims:?} are too large")))?;
    Ok((dims, size))
}

/// Writes `digits` as the two IDX files of `split` in `dir` (images as
/// `count × side × side`, `side² = pixels`): for tests and examples that
/// need MNIST-shaped data without the download.
pub fn write(dir: &Path, split: Split, digits: &Digits) -> Result<(), HostError> {
    let side = (digits.pixels as f64).sqrt().round() as usize;
    if side * side != digits.pixels {
        return Err(HostError::BadInput(format!(
            "mnist::write: {} pixels is not a square image",
            digits.pixels
        )));
    }
    let (images, labels) = files(split);
    let count = digits.len() as u32;
    let mut img = vec![0, 0, 8, 3];
    for d in [count, side as u32, side as u32] {
        img.extend(d.to_be_bytes());
    }
    img.extend(&digits.images);
    let mut lab = vec![0, 0, 8, 1];
    lab.extend(count.to_be_bytes());
    lab.extend(&digits.labels);
    for (name, bytes) in [(images, img), (labels, lab)] {
        let p = dir.join(name);
        std::fs::write(&p, bytes)
            .map_err(|e| HostError::Io(format!("{}: cannot write: {e}", p.display())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Found by the fuzz target `idx_gzip`: a 36-byte gzip whose IDX header
    /// declares 8.6 GB had the 8.6 GB allocated before a byte inflated.
    #[test]
    fn a_gzip_header_beyond_deflates_ratio_is_refused_before_allocating() {
        let mut header = vec![0, 0, 8, 3];
        for d in [1_000_000u32, 28, 28] {
            header.extend(d.to_be_bytes());
        }
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&header).unwrap();
        let gz = z.finish().unwrap();
        let e = decode_idx(Path::new("x.gz"), &gz, true, 3).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "mnist x.gz: the header [1000000, 28, 28] promises 784000000 values, more than a {}-byte gzip file can hold (at most 1032× its size)",
                gz.len()
            )
        );
    }

    fn digits(count: usize) -> Digits {
        Digits {
            pixels: 4,
            images: (0..count * 4).map(|k| (k * 37 % 256) as u8).collect(),
            labels: (0..count).map(|k| (k % 10) as u8).collect(),
        }
    }

    fn folder(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("gatedyn-mnist-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// The message of an error that names the MNIST folder.
    fn param(r: Result<Digits, HostError>) -> String {
        match r {
            Err(HostError::Invalid {
                param: Param::Mnist,
                message,
            }) => message,
            other => panic!("expected an error naming the MNIST folder, got {other:?}"),
        }
    }

    #[test]
    fn written_files_read_back_plain_and_gzipped() {
        let dir = folder("round");
        let d = digits(7);
        write(&dir, Split::Test, &d).unwrap();
        assert_eq!(load(&dir, Split::Test).unwrap(), d);
        // the distributed form: the same bytes gzipped, `.gz` appended
        for name in ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"] {
            let bytes = std::fs::read(dir.join(name)).unwrap();
            let gz = std::fs::File::create(dir.join(format!("{name}.gz"))).unwrap();
            let mut enc = flate2::write::GzEncoder::new(gz, flate2::Compression::fast());
            enc.write_all(&bytes).unwrap();
            enc.finish().unwrap();
            std::fs::remove_file(dir.join(name)).unwrap();
        }
        assert_eq!(load(&dir, Split::Test).unwrap(), d);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn malformed_files_are_named() {
        let dir = folder("bad");
        write(&dir, Split::Train, &digits(5)).unwrap();
        let labels = dir.join("train-labels-idx1-ubyte");
        let mut bytes = std::fs::read(&labels).unwrap();
        bytes[8 + 2] = 12;
        std::fs::write(&labels, &bytes).unwrap();
        let m = param(load(&dir, Split::Train));
        assert!(m.contains("label 2 is 12; digits are 0 to 9"), "{m}");
        // four labels for five images
        write(&dir, Split::Train, &digits(5)).unwrap();
        let mut four = vec![0, 0, 8, 1, 0, 0, 0, 4];
        four.extend([1, 2, 3, 4]);
        std::fs::write(&labels, four).unwrap();
        let m = param(load(&dir, Split::Train));
        assert!(m.contains("4 labels for the 5 images"), "{m}");
        // a float IDX file
        let images = dir.join("train-images-idx3-ubyte");
        let mut b = std::fs::read(&images).unwrap();
        b[2] = 0x0D;
        std::fs::write(&images, &b).unwrap();
        let m = param(load(&dir, Split::Train));
        assert!(m.contains("IDX type 0x0d"), "{m}");
        // a gzip file that is not one
        std::fs::remove_file(&images).unwrap();
        std::fs::write(dir.join("train-images-idx3-ubyte.gz"), b"plain text").unwrap();
        let m = param(load(&dir, Split::Train));
        assert!(m.contains("not a readable gzip file"), "{m}");
        let m = param(load(&dir.join("nothing"), Split::Train));
        assert!(m.contains("not a folder"), "{m}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Issue 21, defects 6 and 7: a gzip that inflates far past what its
    /// header declares stops at the declared size, and a 3 GiB sparse file
    /// with a wrong header is refused from its first bytes.
    #[test]
    fn headers_are_checked_before_the_body_is_read() {
        use std::io::Write;
        let dir = folder("bomb");
        write(&dir, Split::Train, &digits(7)).unwrap();
        let images = dir.join("train-images-idx3-ubyte");
        let mut bytes = std::fs::read(&images).unwrap();
        std::fs::remove_file(&images).unwrap();
        bytes.extend(std::iter::repeat_n(0u8, 64 << 20));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&bytes).unwrap();
        std::fs::write(dir.join("train-images-idx3-ubyte.gz"), gz.finish().unwrap()).unwrap();
        let m = param(load(&dir, Split::Train));
        assert!(m.contains("promises") && m.contains("holds more"), "{m}");

        let sparse = folder("sparse");
        write(&sparse, Split::Train, &digits(7)).unwrap();
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(sparse.join("train-images-idx3-ubyte"))
            .unwrap();
        f.set_len(3 << 30).unwrap();
        let mut f = f;
        f.write_all(&[1, 2, 3, 4]).unwrap();
        let t0 = std::time::Instant::now();
        let m = param(load(&sparse, Split::Train));
        assert!(m.contains("not an IDX file"), "{m}");
        assert!(t0.elapsed().as_secs_f64() < 2.0, "read the whole file?");
        std::fs::remove_dir_all(&sparse).unwrap();
    }
}
