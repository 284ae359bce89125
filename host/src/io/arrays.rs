//! Two-dimensional arrays of numbers in files: NumPy `.npy` (version 1–3,
//! little-endian `f4`/`f8`, C order) and `.csv` (one row per line, comma
//! separated, `#` comments), read for `Param::Inputs` and `Param::H0`; written as
//! `.npy`, `.csv` or `.json` (the states of a run).
//!
//! The `.npy` header is a Python dict literal of three known keys; this
//! module reads the three and nothing else (format reference:
//! `numpy.lib.format`).

use crate::io::output::produce_atomic;
use crate::HostError;
use crate::Param;
use crate::Precision;
use std::io::Write;
use std::path::Path;

/// At most this many entries in an array read from a file (4·10⁸, 3.2 GB
/// of `f64`): a larger header is refused before anything is allocated.
pub const MAX_ENTRIES: usize = 400_000_000;

/// At most this many bytes in an array file (8 per entry of
/// [`MAX_ENTRIES`], or text of that many numbers).
pub const MAX_FILE_BYTES: u64 = 64 * MAX_ENTRIES as u64;

/// A row-major `rows × cols` array of finite numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Rows (time steps for `Param::Inputs` and `Param::Output`).
    pub rows: usize,
    /// Columns (inputs, or hidden units).
    pub cols: usize,
    /// `rows·cols` entries, row-major.
    pub data: Vec<f64>,
}

impl Table {
    /// Row `t`.
    pub fn row(&self, t: usize) -> &[f64] {
        &self.data[t * self.cols..(t + 1) * self.cols]
    }
}

/// The file formats, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrayFormat {
    /// NumPy `.npy`.
    Npy,
    /// Comma-separated text.
    Csv,
    /// JSON `{"rows": T, "cols": N, "data": [[…], …]}` (writing only).
    Json,
}

/// The format of `path` from its extension; `allowed` lists the formats
/// `flag` takes.
pub fn format_of(
    param: Param,
    path: &Path,
    allowed: &[ArrayFormat],
) -> Result<ArrayFormat, HostError> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    let f = match ext.as_deref() {
        Some("npy") => Some(ArrayFormat::Npy),
        Some("csv") => Some(ArrayFormat::Csv),
        Some("json") => Some(ArrayFormat::Json),
        _ => None,
    };
    match f {
        Some(f) if allowed.contains(&f) => Ok(f),
        _ => {
            let names: Vec<&str> = allowed
                .iter()
                .map(|f| match f {
                    ArrayFormat::Npy => ".npy",
                    ArrayFormat::Csv => ".csv",
                    ArrayFormat::Json => ".json",
                })
                .collect();
            Err(HostError::invalid(
                param,
                format!(
                    " {}: the extension must be one of {}",
                    path.display(),
                    names.join(", ")
                ),
            ))
        }
    }
}

/// Reads a 1-D or 2-D array (`.npy` or `.csv`); a 1-D array is one row.
/// Every error names `flag` and the file: unreadable, malformed, not
/// `f4`/`f8`, Fortran order, more than two dimensions, ragged rows, NaN or
/// infinite entries (with row and column).
pub fn read(param: Param, path: &Path) -> Result<Table, HostError> {
    let format = format_of(param, path, &[ArrayFormat::Npy, ArrayFormat::Csv])?;
    let bad = |why: String| HostError::invalid(param, format!(" {}: {why}", path.display()));
    let bytes = match format {
        ArrayFormat::Npy => read_npy_file(path, false),
        _ => super::files::read_regular(path, MAX_FILE_BYTES),
    }
    .map_err(bad)?;
    decode(format, &bytes).map_err(bad)
}

/// The array held by `bytes`, a file in `format` (`.npy` or `.csv`): what
/// [`read`] does after reading the file, for arrays held in memory (and
/// the fuzz targets). An error says what is wrong.
pub fn decode(format: ArrayFormat, bytes: &[u8]) -> Result<Table, String> {
    let table = match format {
        ArrayFormat::Npy => parse_npy(bytes),
        ArrayFormat::Csv => parse_csv(bytes),
        ArrayFormat::Json => Err("JSON arrays are written, not read".into()),
    }?;
    if let Some(k) = table.data.iter().position(|x| !x.is_finite()) {
        let (r, c) = (k / table.cols.max(1), k % table.cols.max(1));
        return Err(format!(
            "entry at row {r}, column {c} is {}: every entry must be finite",
            table.data[k]
        ));
    }
    Ok(table)
}

/// Reads sequences: a `.npy` of `K×T×I` is `K` sequences of `T` rows, a
/// 1-D or 2-D array (`.npy` or `.csv`) one. The same checks as [`read`].
pub fn read_sequences(param: Param, path: &Path) -> Result<Vec<Table>, HostError> {
    let format = format_of(param, path, &[ArrayFormat::Npy, ArrayFormat::Csv])?;
    let bad = |why: String| HostError::invalid(param, format!(" {}: {why}", path.display()));
    if format != ArrayFormat::Npy {
        return Ok(vec![read(param, path)?]);
    }
    let bytes = read_npy_file(path, true).map_err(bad)?;
    decode_sequences(&bytes).map_err(bad)
}

/// The sequences held by the bytes of a `.npy` file (`K×T×I`, or one
/// sequence of 1 or 2 dimensions): [`read_sequences`] in memory.
pub fn decode_sequences(bytes: &[u8]) -> Result<Vec<Table>, String> {
    let (k, table) = parse_npy_batch(bytes, true)?;
    if let Some(i) = table.data.iter().position(|x| !x.is_finite()) {
        return Err(format!(
            "entry {i} is {}: every entry must be finite",
            table.data[i]
        ));
    }
    let rows = table.rows / k.max(1);
    Ok((0..k)
        .map(|s| Table {
            rows,
            cols: table.cols,
            data: table.data[s * rows * table.cols..(s + 1) * rows * table.cols].to_vec(),
        })
        .collect())
}

/// The bytes of the `.npy` file at `path`, its header read and checked
/// first: a file whose length is not the one its header declares (a 3 GiB
/// file behind a 100×4 header) is refused before its data are read.
fn read_npy_file(path: &Path, batch: bool) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let len = super::files::regular_len(path)?;
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut bytes = Vec::new();
    (&mut file)
        .take(1 << 20)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    let layout = npy_layout(&bytes, batch)?;
    if len != layout.file_len() as u64 {
        return Err(format!(
            "the header declares shape ({}) in {} bytes, but the file holds {len} (truncated or corrupt file)",
            layout.shape,
            layout.file_len()
        ));
    }
    // the rest of the file, now that its size is the one declared
    let rest = len.saturating_sub(bytes.len() as u64);
    file.take(rest)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    Ok(bytes)
}

fn parse_npy(bytes: &[u8]) -> Result<Table, String> {
    parse_npy_batch(bytes, false).map(|(_, t)| t)
}

/// The keys of a `.npy` header dictionary: every `'name'` followed by a
/// colon, outside the values' own quotes.
fn header_keys(header: &str) -> Vec<&str> {
    let mut keys = vec![];
    let mut rest = header;
    while let Some(open) = rest.find('\'') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('\'') else { break };
        let word = &after[..close];
        let tail = after[close + 1..].trim_start();
        if tail.starts_with(':') {
            keys.push(word);
        }
        rest = &after[close + 1..];
    }
    keys
}

/// A `.npy` array as `(sequences, table)`: 1-D and 2-D arrays are one
/// sequence; with `batch`, a 3-D `K×T×I` array is `K` sequences whose
/// `K·T` rows are stacked in the table.
/// What a `.npy` header declares: where the data start, its shape as
/// `(sequences, rows, cols)`, the bytes per value and the shape's text.
struct NpyLayout {
    data_start: usize,
    sequences: usize,
    rows: usize,
    cols: usize,
    width: usize,
    shape: String,
}

impl NpyLayout {
    /// The file's length the header declares.
    fn file_len(&self) -> usize {
        self.data_start + self.rows * self.cols * self.width
    }
}

/// The layout of a `.npy` file from its first bytes (the magic and the
/// header suffice).
fn npy_layout(bytes: &[u8], batch: bool) -> Result<NpyLayout, String> {
    const MAGIC: &[u8] = b"\x93NUMPY";
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err("not a NumPy .npy file (no \\x93NUMPY magic)".into());
    }
    let major = bytes[6];
    let (header_len, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => return Err(format!(".npy format version {major} is not supported")),
    };
    let header = bytes
        .get(start..start + header_len)
        .ok_or("the .npy header is cut short")?;
    let header = std::str::from_utf8(header).map_err(|_| "the .npy header is not text")?;
    // exactly NumPy's three keys, each once: a second 'descr' (or another
    // key) would let a reader and NumPy see different arrays
    let keys = header_keys(header);
    for key in ["descr", "fortran_order", "shape"] {
        let n = keys.iter().filter(|&&k| k == key).count();
        if n != 1 {
            return Err(format!(
                "the .npy header names '{key}' {n} times; it must name it once"
            ));
        }
    }
    if let Some(other) = keys
        .iter()
        .find(|&&k| !["descr", "fortran_order", "shape"].contains(&k))
    {
        return Err(format!(
            "the .npy header has a key '{other}' that NumPy does not write"
        ));
    }
    let value = |key: &str| -> Result<&str, String> {
        let at = header
            .find(&format!("'{key}'"))
            .ok_or(format!("the .npy header has no '{key}'"))?;
        let rest = &header[at + key.len() + 2..];
        let colon = rest.find(':').ok_or("malformed .npy header")?;
        Ok(rest[colon + 1..].trim_start())
    };
    let descr = value("descr")?;
    let width = if descr.starts_with("'<f8'") || descr.starts_with("'float64'") {
        8
    } else if descr.starts_with("'<f4'") || descr.starts_with("'float32'") {
        4
    } else {
        let d: String = descr.chars().take_while(|c| *c != ',').collect();
        return Err(format!(
            "element type {d} is not supported (use little-endian float32 '<f4' or float64 '<f8')"
        ));
    };
    if value("fortran_order")?.starts_with("True") {
        return Err("Fortran-ordered arrays are not supported (save a C-ordered copy: np.ascontiguousarray)".into());
    }
    let shape = value("shape")?;
    let inner = shape
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or("malformed shape in the .npy header")?;
    let dims: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| format!("malformed shape ({inner})"))
        })
        .collect::<Result<_, _>>()?;
    let (sequences, rows, cols) = match dims[..] {
        [n] => (1, 1, n),
        [t, n] => (1, t, n),
        [k, t, n] if batch => {
            // K empty sequences would be K tables of nothing
            if k > 0 && (t == 0 || n == 0) {
                return Err(format!(
                    "shape ({inner}): {k} sequences of no steps or no inputs"
                ));
            }
            (k, k.checked_mul(t).ok_or("the shape overflows")?, n)
        }
        _ => {
            return Err(format!(
                "the array has {} dimensions; expected {} (T×I)",
                dims.len(),
                if batch { "1 to 3 (K×T×I)" } else { "1 or 2" }
            ))
        }
    };
    // the entries, and their bytes, within what a run may hold
    rows.checked_mul(cols)
        .filter(|c| *c <= MAX_ENTRIES)
        .ok_or(format!(
            "shape ({inner}) is larger than {MAX_ENTRIES} entries"
        ))?;
    Ok(NpyLayout {
        data_start: start + header_len,
        sequences,
        rows,
        cols,
        width,
        shape: inner.to_string(),
    })
}

fn parse_npy_batch(bytes: &[u8], batch: bool) -> Result<(usize, Table), String> {
    let NpyLayout {
        data_start,
        sequences,
        rows,
        cols,
        width,
        shape: inner,
    } = npy_layout(bytes, batch)?;
    let count = rows * cols;
    let data_bytes = &bytes[data_start..];
    if data_bytes.len() != count * width {
        return Err(format!(
            "the data holds {} bytes, the shape ({inner}) needs {} (truncated or corrupt file)",
            data_bytes.len(),
            count * width
        ));
    }
    let data = if width == 8 {
        f64_le(data_bytes)
    } else {
        f32_le(data_bytes)
    };
    Ok((sequences, Table { rows, cols, data }))
}

fn parse_csv(bytes: &[u8]) -> Result<Table, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "the file is not UTF-8 text")?;
    let mut data = Vec::new();
    let (mut rows, mut cols) = (0, None);
    for (k, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let start = data.len();
        for (c, field) in line.split(',').enumerate() {
            let v: f64 = field.trim().parse().map_err(|_| {
                format!(
                    "line {}, column {c}: not a number: {:?}",
                    k + 1,
                    field.trim()
                )
            })?;
            data.push(v);
        }
        let width = data.len() - start;
        match cols {
            None => cols = Some(width),
            Some(w) if w != width => {
                return Err(format!(
                    "line {} has {width} columns, earlier lines {w}",
                    k + 1
                ))
            }
            _ => {}
        }
        rows += 1;
        if data.len() > MAX_ENTRIES {
            return Err(format!("more than {MAX_ENTRIES} entries"));
        }
    }
    let cols = cols.ok_or("no numbers in the file")?;
    Ok(Table { rows, cols, data })
}

/// Writes `table` to `path` in `format` with entries of `precision` (`.npy`
/// stores `f4` or `f8`; text writes the shortest decimal that reads back to
/// the same value of that precision), atomically (a failure leaves no
/// partial file: [`produce_atomic`]).
pub fn write(
    path: &Path,
    format: ArrayFormat,
    table: &Table,
    precision: Precision,
) -> Result<(), HostError> {
    let io = |e: std::io::Error| HostError::Io(format!("cannot write {}: {e}", path.display()));
    produce_atomic(path, |tmp| {
        let file = std::fs::File::create(tmp).map_err(io)?;
        let mut out = std::io::BufWriter::new(file);
        let text = |x: f64| match precision {
            Precision::F32 => format!("{}", x as f32),
            Precision::F64 => format!("{x}"),
        };
        match format {
            ArrayFormat::Npy => {
                let descr = match precision {
                    Precision::F32 => "<f4",
                    Precision::F64 => "<f8",
                };
                let mut header = format!(
                    "{{'descr': '{descr}', 'fortran_order': False, 'shape': ({}, {}), }}",
                    table.rows, table.cols
                );
                // magic (6) + version (2) + length (2) + header + '\n', padded to 64
                let total = (10 + header.len() + 1).div_ceil(64) * 64;
                header.push_str(&" ".repeat(total - 10 - header.len() - 1));
                header.push('\n');
                out.write_all(b"\x93NUMPY\x01\x00").map_err(io)?;
                out.write_all(&(header.len() as u16).to_le_bytes())
                    .map_err(io)?;
                out.write_all(header.as_bytes()).map_err(io)?;
                for &x in &table.data {
                    match precision {
                        Precision::F32 => out.write_all(&(x as f32).to_le_bytes()),
                        Precision::F64 => out.write_all(&x.to_le_bytes()),
                    }
                    .map_err(io)?;
                }
            }
            ArrayFormat::Csv => {
                for t in 0..table.rows {
                    let line: Vec<String> = table.row(t).iter().map(|&x| text(x)).collect();
                    writeln!(out, "{}", line.join(",")).map_err(io)?;
                }
            }
            ArrayFormat::Json => {
                write!(
                    out,
                    "{{\"rows\": {}, \"cols\": {}, \"data\": [",
                    table.rows, table.cols
                )
                .map_err(io)?;
                for t in 0..table.rows {
                    let line: Vec<String> = table.row(t).iter().map(|&x| text(x)).collect();
                    let sep = if t + 1 < table.rows { "," } else { "" };
                    write!(out, "\n  [{}]{sep}", line.join(", ")).map_err(io)?;
                }
                writeln!(out, "\n]}}").map_err(io)?;
            }
        }
        let file = out.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)
    })
}

/// Little-endian `float32` values as `f64` (a trailing partial value is
/// ignored; callers check the length first).
pub fn f32_le(bytes: &[u8]) -> Vec<f64> {
    let (values, _) = bytes.as_chunks::<4>();
    values
        .iter()
        .map(|c| f32::from_le_bytes(*c) as f64)
        .collect()
}

/// Little-endian `float64` values (a trailing partial value is ignored;
/// callers check the length first).
pub fn f64_le(bytes: &[u8]) -> Vec<f64> {
    let (values, _) = bytes.as_chunks::<8>();
    values.iter().map(|c| f64::from_le_bytes(*c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("gatedyn-arrays-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d.join(name)
    }

    /// Found by the fuzz target `npy`: a K×0×0 header made K empty tables
    /// (3e11 of them: a 1.2 TB allocation) before anything was checked.
    #[test]
    fn empty_sequences_are_refused_before_they_are_made() {
        let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (300000000000, 0, 0), }";
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((header.len() as u16).to_le_bytes());
        bytes.extend(header.as_bytes());
        let e = decode_sequences(&bytes).unwrap_err();
        assert_eq!(
            e,
            "shape (300000000000, 0, 0): 300000000000 sequences of no steps or no inputs"
        );
    }

    #[test]
    fn npy_and_csv_round_trip() {
        let t = Table {
            rows: 3,
            cols: 2,
            data: vec![0.1, -2.5, 3.0e-8, 4.0, 1.0 / 3.0, -0.0],
        };
        for (name, fmt) in [("a.npy", ArrayFormat::Npy), ("a.csv", ArrayFormat::Csv)] {
            let p = tmp(name);
            write(&p, fmt, &t, Precision::F64).unwrap();
            assert_eq!(read(Param::Inputs, &p).unwrap(), t, "{name}");
            // f32 rounds each entry to nearest (text: the shortest decimal
            // that reads back to that f32)
            write(&p, fmt, &t, Precision::F32).unwrap();
            let back = read(Param::Inputs, &p).unwrap();
            assert_eq!(back.data[4] as f32, (1.0f64 / 3.0) as f32, "{name}");
            assert_ne!(back.data[4], 1.0 / 3.0, "{name}: not rounded");
        }
        let p = tmp("a.json");
        write(&p, ArrayFormat::Json, &t, Precision::F64).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(v["data"][2][0].as_f64(), Some(1.0 / 3.0));
        assert_eq!(v["cols"].as_u64(), Some(2));
    }

    #[test]
    fn malformed_files_are_named() {
        let p = tmp("bad.npy");
        let t = Table {
            rows: 2,
            cols: 2,
            data: vec![1.0; 4],
        };
        write(&p, ArrayFormat::Npy, &t, Precision::F32).unwrap();
        let full = std::fs::read(&p).unwrap();
        std::fs::write(&p, &full[..full.len() - 3]).unwrap();
        let e = read(Param::Inputs, &p).unwrap_err();
        assert!(
            matches!(&e, HostError::Invalid { param: Param::Inputs, message } if message.contains("truncated")),
            "{e}"
        );
        std::fs::write(&p, b"hello").unwrap();
        let e = read(Param::Inputs, &p).unwrap_err().to_string();
        assert!(e.contains("not a NumPy"), "{e}");

        let c = tmp("bad.csv");
        std::fs::write(&c, "1,2\n3\n").unwrap();
        let e = read(Param::H0, &c).unwrap_err().to_string();
        assert!(e.contains("line 2 has 1 columns"), "{e}");
        std::fs::write(&c, "1,nan\n").unwrap();
        let e = read(Param::H0, &c).unwrap_err().to_string();
        assert!(e.contains("row 0, column 1") && e.contains("finite"), "{e}");
        std::fs::write(&c, "1,x\n").unwrap();
        let e = read(Param::H0, &c).unwrap_err().to_string();
        assert!(e.contains("not a number"), "{e}");
        let e = read(Param::H0, &tmp("x.txt")).unwrap_err().to_string();
        assert!(e.contains("extension"), "{e}");
    }

    /// Issue 21, defect 14: a header whose second `'descr'` disagrees with
    /// the first (NumPy reads the last, a naive reader the first), or that
    /// holds a key NumPy never writes, is refused.
    #[test]
    fn npy_headers_with_doubled_or_foreign_keys_are_refused() {
        let npy = |header: &str| {
            let mut h = header.as_bytes().to_vec();
            while !(10 + h.len() + 1).is_multiple_of(64) {
                h.push(b' ');
            }
            h.push(b'\n');
            let mut b = b"\x93NUMPY\x01\x00".to_vec();
            b.extend((h.len() as u16).to_le_bytes());
            b.extend(h);
            b.extend([0u8; 32]);
            b
        };
        let good = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }");
        assert_eq!(parse_npy(&good).unwrap().rows, 2);
        let twice =
            npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), 'descr': '<f8', }");
        assert!(parse_npy(&twice)
            .unwrap_err()
            .contains("names 'descr' 2 times"));
        let foreign =
            npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), 'descrx': 1, }");
        assert!(parse_npy(&foreign).unwrap_err().contains("a key 'descrx'"));
    }
}
