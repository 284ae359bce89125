//! The subcommands of `gatedyn`, one module each (`#[derive(Args)]` and
//! `run`), and what they share: argument parsers with their bounds, the
//! output flags, the progress bar and the way results are emitted.

pub mod analyze;
pub mod bifurcation;
pub mod complexity;
pub mod export;
pub mod fixed_points;
pub mod long_term;
pub mod lyapunov;
pub mod mft;
pub mod phase_diagram;
pub mod run;
pub mod scaling;
pub mod slow_modes;
pub mod spectrum;
pub mod train;
pub mod train_sweep;
pub mod validate;

use clap::{Args, ValueEnum};
use gatedyn::Activation;
use gatedyn_host::io::limits::MAX_SCALE;
use gatedyn_host::io::output::{self, Target};
use gatedyn_host::HostError;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

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
    /// together ([`output::check_targets`]).
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
        output::check_targets(&all)
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
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {msg}",
            )
            .expect("static template"),
        );
        Progress(bar)
    }
    /// A bar for a run reported as a fraction in `[0, 1]`.
    pub fn fraction(quiet: bool) -> Self {
        let p = Self::new(quiet, 1000);
        p.0.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {msg}")
                .expect("static template"),
        );
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
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}
