//! What the subcommands share: argument parsers with their bounds, the
//! argument groups of several subcommands (`--model`/`--h0`, gate scales,
//! precision), the output flags, the progress bar and the way results are
//! emitted.

use clap::{Args, ValueEnum};
use gatedyn::init::{GateScale, GruScales, LstmScales};
use gatedyn::Activation;
use gatedyn_host::formats::{self, Model};
use gatedyn_host::io::arrays;
use gatedyn_host::io::limits::MAX_SCALE;
use gatedyn_host::io::output::{self, Target};
use gatedyn_host::net::Cell;
use gatedyn_host::HostError;
use gatedyn_host::Param;
use gatedyn_host::Precision;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A gate or bias scale: finite, `≥ 0`, at most [`MAX_SCALE`].
pub fn scale(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("not a number: {s:?}"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("must be finite and >= 0, got {v}"));
    }
    if v > MAX_SCALE {
        return Err(format!("must be at most {MAX_SCALE:e}, got {v:e}"));
    }
    Ok(v)
}

/// A count in `min..=max`.
pub fn count(min: usize, max: usize) -> impl Fn(&str) -> Result<usize, String> + Clone {
    let range = move || {
        if max == usize::MAX {
            format!(">= {min}")
        } else {
            format!("in {min}..={max}")
        }
    };
    move |s: &str| {
        let v: usize = s
            .trim()
            .parse()
            .map_err(|_| format!("must be a whole number {}, got {s:?}", range()))?;
        if v < min || v > max {
            return Err(format!("must be {}, got {v}", range()));
        }
        Ok(v)
    }
}

/// A finite number (tolerances and targets are checked by their command).
pub fn finite(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("not a number: {s:?}"))?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("must be finite, got {v}"))
    }
}

/// `--json` and `--quiet`, on every subcommand.
#[derive(Args, Debug)]
pub struct OutputArgs {
    /// Write the result as JSON to PATH (`-` for stdout).
    #[arg(long, value_name = "PATH")]
    pub json: Option<Target>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

impl OutputArgs {
    /// Checks the run's outputs before it starts: the JSON target, the
    /// figure's format and path, and `others` (`(flag, target)`), all
    /// together ([`check_targets`]).
    pub fn check(
        &self,
        plot: Option<&std::path::PathBuf>,
        others: &[(&str, Option<&Target>)],
    ) -> Result<(), HostError> {
        if let Some(p) = plot {
            gatedyn_host::figures::plot::format_of(p)?;
        }
        let plot_target = plot.cloned().map(Target::File);
        let mut all = vec![
            ("--json", self.json.as_ref()),
            ("--plot", plot_target.as_ref()),
        ];
        all.extend_from_slice(others);
        check_targets(&all)
    }
    /// Whether stdout is taken by the JSON.
    pub fn json_on_stdout(&self) -> bool {
        self.json.as_ref().is_some_and(Target::is_stdout)
    }
    /// Writes the JSON (if asked) and prints the summary line on stdout
    /// unless the JSON took it.
    pub fn emit<T: Serialize>(&self, value: &T, summary: &str) -> Result<(), HostError> {
        self.emit_beside(value, summary, false)
    }
    /// [`OutputArgs::emit`] when another output may already have taken
    /// stdout (`stdout_taken`): then the summary line is left out.
    pub fn emit_beside<T: Serialize>(
        &self,
        value: &T,
        summary: &str,
        stdout_taken: bool,
    ) -> Result<(), HostError> {
        // a result with a NaN or an infinity has failed: JSON would carry
        // `null` for it and the table "NaN", both read as numbers
        if let Some(field) = super::finite::first_non_finite(value) {
            return Err(HostError::NonFiniteResult(field));
        }
        self.emit_report(value, summary, stdout_taken)
    }
    /// [`OutputArgs::emit_beside`] without the finite check: for a report
    /// whose rows say themselves when a value is missing (`validate`'s
    /// table marks a NaN measurement as a failed check).
    pub fn emit_report<T: Serialize>(
        &self,
        value: &T,
        summary: &str,
        stdout_taken: bool,
    ) -> Result<(), HostError> {
        if let Some(t) = &self.json {
            output::write_target(t, &output::to_json(value)?)?;
        }
        if !self.json_on_stdout() && !stdout_taken {
            output::write_stdout(summary)?;
        }
        Ok(())
    }
}

/// `φ`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ActivationArg {
    /// `tanh`.
    Tanh,
    /// `clamp(x, -1, 1)`.
    Hardtanh,
}

impl From<ActivationArg> for Activation {
    fn from(a: ActivationArg) -> Self {
        match a {
            ActivationArg::Tanh => Activation::Tanh,
            ActivationArg::Hardtanh => Activation::HardTanh,
        }
    }
}

/// The one progress bar of the CLI (on stderr; hidden with `--quiet`).
pub struct Progress(ProgressBar);

impl Progress {
    /// A bar of `len` steps.
    pub fn new(quiet: bool, len: u64) -> Self {
        let bar = if quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(len)
        };
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {msg}")
        {
            bar.set_style(style);
        }
        Progress(bar)
    }
    /// A bar for a run reported as a fraction in `[0, 1]`.
    pub fn fraction(quiet: bool) -> Self {
        let p = Self::new(quiet, 1000);
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {msg}")
        {
            p.0.set_style(style);
        }
        p
    }
    /// Sets the fraction done and the phase.
    pub fn at_fraction(&self, f: f64, phase: &str) {
        self.0.set_position((1000.0 * f.clamp(0.0, 1.0)) as u64);
        self.0.set_message(phase.to_string());
    }
    /// Sets the steps done.
    pub fn at(&self, k: usize) {
        self.0.set_position(k as u64);
    }
    /// Adds steps done (thread-safe).
    pub fn inc(&self, k: usize) {
        self.0.inc(k as u64);
    }
    /// Sets the message.
    pub fn message(&self, m: &str) {
        self.0.set_message(m.to_string());
    }
    /// Prints a line on stderr above the bar (also with `--quiet`).
    pub fn note(&self, line: &str) {
        if self.0.is_hidden() {
            eprintln!("{line}");
        } else {
            self.0.println(line);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

/// The GRU's gate scales (recurrent `σ`, bias `σ_b`), docs/THEORY.md §1.
#[derive(Args, Debug, Clone, Copy)]
pub struct GruScalesArgs {
    /// σ_z: update-gate scale (slow modes).
    #[arg(long, default_value_t = 1.0, value_parser = scale, allow_hyphen_values = true)]
    pub sigma_z: f64,
    /// σ_r: reset-gate scale (phase-space complexity).
    #[arg(long, default_value_t = 1.0, value_parser = scale, allow_hyphen_values = true)]
    pub sigma_r: f64,
    /// σ_h: candidate scale (chaos above 2).
    #[arg(long, default_value_t = 3.0, value_parser = scale, allow_hyphen_values = true)]
    pub sigma_h: f64,
    /// Bias scale of z.
    #[arg(long, default_value_t = 0.0, value_parser = scale, allow_hyphen_values = true)]
    pub bias_z: f64,
    /// Bias scale of r.
    #[arg(long, default_value_t = 0.0, value_parser = scale, allow_hyphen_values = true)]
    pub bias_r: f64,
    /// Bias scale of h.
    #[arg(long, default_value_t = 0.0, value_parser = scale, allow_hyphen_values = true)]
    pub bias_h: f64,
}

impl GruScalesArgs {
    /// The core's scales.
    pub fn scales(&self) -> GruScales {
        let g = |sigma, bias| GateScale {
            sigma,
            bias,
            input: 0.0,
        };
        GruScales {
            z: g(self.sigma_z, self.bias_z),
            r: g(self.sigma_r, self.bias_r),
            h: g(self.sigma_h, self.bias_h),
        }
    }
}

/// The LSTM's gate scales, docs/THEORY.md §1.
#[derive(Args, Debug, Clone, Copy)]
pub struct LstmScalesArgs {
    /// σ_f: forget-gate scale (slow modes).
    #[arg(long, default_value_t = 1.0, value_parser = scale, allow_hyphen_values = true)]
    pub sigma_f: f64,
    /// σ_i: input-gate scale.
    #[arg(long, default_value_t = 1.0, value_parser = scale, allow_hyphen_values = true)]
    pub sigma_i: f64,
    /// σ_o: output-gate scale.
    #[arg(long, default_value_t = 1.0, value_parser = scale, allow_hyphen_values = true)]
    pub sigma_o: f64,
    /// σ_c: cell-candidate scale.
    #[arg(long, default_value_t = 3.0, value_parser = scale, allow_hyphen_values = true)]
    pub sigma_c: f64,
    /// Bias scale of f.
    #[arg(long, default_value_t = 0.0, value_parser = scale, allow_hyphen_values = true)]
    pub bias_f: f64,
    /// Bias scale of i.
    #[arg(long, default_value_t = 0.0, value_parser = scale, allow_hyphen_values = true)]
    pub bias_i: f64,
    /// Bias scale of o.
    #[arg(long, default_value_t = 0.0, value_parser = scale, allow_hyphen_values = true)]
    pub bias_o: f64,
    /// Bias scale of c.
    #[arg(long, default_value_t = 0.0, value_parser = scale, allow_hyphen_values = true)]
    pub bias_c: f64,
}

impl LstmScalesArgs {
    /// The core's scales.
    pub fn scales(&self) -> LstmScales {
        let g = |sigma, bias| GateScale {
            sigma,
            bias,
            input: 0.0,
        };
        LstmScales {
            f: g(self.sigma_f, self.bias_f),
            i: g(self.sigma_i, self.bias_i),
            o: g(self.sigma_o, self.bias_o),
            c: g(self.sigma_c, self.bias_c),
        }
    }
}

/// Weight precision of the matrix-free products and exports; the
/// arithmetic of training.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PrecisionArg {
    /// `f32` (half the memory traffic).
    F32,
    /// `f64`.
    F64,
}

impl From<PrecisionArg> for Precision {
    fn from(p: PrecisionArg) -> Self {
        match p {
            PrecisionArg::F32 => Precision::F32,
            PrecisionArg::F64 => Precision::F64,
        }
    }
}

/// `--model` and `--h0`, on every subcommand that loads a trained model.
#[derive(Args, Debug)]
pub struct ModelArgs {
    /// The model: `.onnx` (one GRU or LSTM node), `.safetensors`
    /// (PyTorch nn.GRU / nn.LSTM state_dict), `.keras` or `.weights.h5`
    /// (Keras 3, one GRU or LSTM layer).
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,
    /// Initial hidden state, `N` entries (`.npy` or `.csv`); default: the
    /// model's `initial_h`, else zero.
    #[arg(long, value_name = "PATH")]
    pub h0: Option<PathBuf>,
}

/// The `expected` entries of the vector in `path` (`.npy` or `.csv`),
/// given as `param`; a wrong count names `what` the model has.
fn read_vector(
    param: Param,
    path: &Path,
    expected: usize,
    what: &str,
) -> Result<Vec<f64>, HostError> {
    let x = arrays::read(param, path)?;
    if x.rows != 1 && x.cols != 1 {
        return Err(HostError::invalid(
            param,
            format!(
                " {}: a {}×{} matrix; give a vector (one row or one column) of {expected} entries",
                path.display(),
                x.rows,
                x.cols
            ),
        ));
    }
    if x.data.len() != expected {
        return Err(HostError::invalid(
            param,
            format!(
                " {}: {} entries, but the model {what}",
                path.display(),
                x.data.len(),
            ),
        ));
    }
    Ok(x.data)
}

/// Holds a loaded model's input at the constant in `path` (`--input`,
/// `I` entries, `.npy` or `.csv`); zero when `None`.
pub fn hold_input(m: &mut Model, path: Option<&PathBuf>) -> Result<(), HostError> {
    if let Some(p) = path {
        let what = format!("takes {} inputs", m.info.inputs);
        let x = read_vector(Param::Input, p, m.info.inputs, &what)?;
        m.net.x_mut().copy_from_slice(&x);
    }
    Ok(())
}

impl ModelArgs {
    /// Loads `--model` and applies `--h0` when given (checked against the
    /// model's size).
    pub fn load(&self) -> Result<Model, HostError> {
        let mut m = formats::load(&self.model)?;
        if let Some(p) = &self.h0 {
            let what = format!("has {} hidden units", m.info.n);
            let h = read_vector(Param::H0, p, m.info.n, &what)?;
            m.net.h_mut().copy_from_slice(&h);
        }
        Ok(m)
    }

    /// [`ModelArgs::load`] and `--inputs` (checked against the model's
    /// input count).
    pub fn load_with_inputs(
        &self,
        inputs_path: &Path,
    ) -> Result<(Model, arrays::Table), HostError> {
        let m = self.load()?;
        let inputs = arrays::read(Param::Inputs, inputs_path)?;
        if inputs.cols != m.info.inputs {
            return Err(HostError::BadInput(format!(
                "--inputs {}: {} columns, but the model takes {} inputs",
                inputs_path.display(),
                inputs.cols,
                m.info.inputs
            )));
        }
        Ok((m, inputs))
    }
}

/// Checks the outputs of a run before it starts: `(flag, target)` pairs;
/// `None` targets (flags not given) are skipped.
pub fn check_targets(targets: &[(&str, Option<&Target>)]) -> Result<(), HostError> {
    let given: Vec<(&str, &Target)> = targets
        .iter()
        .filter_map(|(f, t)| t.map(|t| (*f, t)))
        .collect();
    let on_stdout: Vec<&str> = given
        .iter()
        .filter(|(_, t)| t.is_stdout())
        .map(|(f, _)| *f)
        .collect();
    if on_stdout.len() > 1 {
        return Err(HostError::BadInput(format!(
            "{} all write to stdout (-): give all but one a file",
            on_stdout.join(" and ")
        )));
    }
    for (k, (flag, t)) in given.iter().enumerate() {
        let Target::File(p) = t else { continue };
        output::writable(p)
            .map_err(|why| HostError::BadInput(format!("{flag} {}: {why}", p.display())))?;
        for (other, u) in &given[..k] {
            if let Target::File(q) = u {
                if output::same_file(p, q) {
                    return Err(HostError::BadInput(format!(
                        "{other} and {flag} name the same file {}: give them different paths",
                        p.display()
                    )));
                }
            }
        }
    }
    Ok(())
}

/// The file format of a command's figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FigureFormat {
    /// SVG.
    Svg,
    /// PNG.
    Png,
}

impl FigureFormat {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            FigureFormat::Svg => "svg",
            FigureFormat::Png => "png",
        }
    }
}

/// The recurrent cell on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CellArg {
    /// GRU (gates z, r, h).
    Gru,
    /// LSTM (gates f, i, o, c).
    Lstm,
}

impl From<CellArg> for Cell {
    fn from(c: CellArg) -> Cell {
        match c {
            CellArg::Gru => Cell::Gru,
            CellArg::Lstm => Cell::Lstm,
        }
    }
}

/// The flag of a library parameter: `--` and its name, `-` for `_`
/// (`Param::SlowEpsilon` is `--slow-epsilon`, `Param::Scale("sigma_h")`
/// is `--sigma-h`).
pub fn flag(param: Param) -> String {
    format!("--{}", param.name().replace('_', "-"))
}

/// An error as the one line the CLI prints: a parameter named by its flag.
pub fn describe(e: &HostError) -> String {
    match e {
        HostError::Invalid { param, message } => format!("{}{message}", flag(*param)),
        HostError::Conflict {
            param,
            with,
            message,
        } => format!("{} and {}: {message}", flag(*param), flag(*with)),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("gatedyn-args-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn two_flags_on_stdout_or_on_one_file_are_refused() {
        let d = tmpdir("conflicts");
        let (a, b) = (Target::Stdout, Target::Stdout);
        let e = check_targets(&[("--json", Some(&a)), ("--eigenvalues", Some(&b))]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--json and --eigenvalues all write to stdout (-): give all but one a file"
        );
        let p = Target::File(d.join("x.svg"));
        let q = Target::File(d.join(".").join("x.svg"));
        let e = check_targets(&[("--plot", Some(&p)), ("--json", Some(&q))]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("--plot and --json name the same file"),
            "{e}"
        );
        assert!(
            check_targets(&[("--plot", Some(&p)), ("--json", Some(&a)), ("--x", None)]).is_ok()
        );
    }
}
