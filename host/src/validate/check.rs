//! A row of the battery and what an experiment returns.

use crate::HostError;
use serde::Serialize;
use std::path::Path;

/// One row of the battery.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What is checked.
    pub name: String,
    /// The predicted value.
    pub predicted: f64,
    /// The measured value.
    pub measured: f64,
    /// The tolerance (written in words: `"rel 5%"`, `"abs 0.01"`,
    /// `">= 0.97"`).
    #[serde(serialize_with = "tolerance_in_words")]
    pub tolerance: Tolerance,
    /// Whether it passed.
    pub pass: bool,
}

impl Check {
    /// `|predicted − measured| / |predicted| ≤ tol`.
    pub fn relative(name: &str, predicted: f64, measured: f64, tol: f64) -> Check {
        let e = (predicted - measured).abs() / predicted.abs().max(1e-300);
        Check {
            name: name.into(),
            predicted,
            measured,
            tolerance: Tolerance::Relative(tol),
            pass: e <= tol,
        }
    }
    /// `|predicted − measured| ≤ tol`.
    pub fn absolute(name: &str, predicted: f64, measured: f64, tol: f64) -> Check {
        Check {
            name: name.into(),
            predicted,
            measured,
            tolerance: Tolerance::Absolute(tol),
            pass: (predicted - measured).abs() <= tol,
        }
    }
    /// `measured ≥ bound`.
    pub fn at_least(name: &str, bound: f64, measured: f64) -> Check {
        Check {
            name: name.into(),
            predicted: bound,
            measured,
            tolerance: Tolerance::AtLeast(bound),
            pass: measured >= bound,
        }
    }
    /// `measured < bound` (a quantity that must stay below, e.g. a
    /// negative Lyapunov exponent).
    pub fn below(name: &str, bound: f64, measured: f64) -> Check {
        Check {
            name: name.into(),
            predicted: bound,
            measured,
            tolerance: Tolerance::Below(bound),
            pass: measured < bound,
        }
    }
    /// `measured > first` (a quantity that must grow).
    pub fn increasing(name: &str, first: f64, last: f64, pass: bool) -> Check {
        Check {
            name: name.into(),
            predicted: first,
            measured: last,
            tolerance: Tolerance::Increasing,
            pass,
        }
    }
}

/// How a check's measured value is held against its prediction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tolerance {
    /// `|predicted − measured| / |predicted| ≤ tol`.
    Relative(f64),
    /// `|predicted − measured| ≤ tol`.
    Absolute(f64),
    /// `measured ≥ bound` (the prediction is the bound).
    AtLeast(f64),
    /// `measured < bound`.
    Below(f64),
    /// The measured value is larger than the predicted (first) one.
    Increasing,
    /// The measured value exceeds the predicted (first) one by at least
    /// this much.
    GrowsBy(f64),
}

impl std::fmt::Display for Tolerance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let words = match *self {
            Tolerance::Relative(tol) if tol >= 0.01 => format!("rel {:.0}%", 100.0 * tol),
            Tolerance::Relative(tol) => format!("rel {tol:.0e}"),
            Tolerance::Absolute(tol) => format!("abs {tol}"),
            Tolerance::AtLeast(bound) => format!(">= {bound}"),
            Tolerance::Below(bound) => format!("< {bound}"),
            Tolerance::Increasing => "increasing".into(),
            Tolerance::GrowsBy(gain) => format!("grows ≥ {gain}"),
        };
        f.pad(&words)
    }
}

/// Writes a tolerance in words (`serialize_with` of [`Check::tolerance`]).
fn tolerance_in_words<S: serde::Serializer>(t: &Tolerance, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(t)
}

/// A figure an experiment drew into the report folder.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// File name inside the report folder.
    pub file: String,
    /// What it shows.
    pub caption: String,
}

/// What one experiment returns.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Its rows of the table.
    pub checks: Vec<Check>,
    /// The figures it drew.
    pub figures: Vec<Figure>,
}

/// Where an experiment runs: the hidden size and the folder for figures.
pub struct Context<'a> {
    /// Hidden size.
    pub n: usize,
    /// The (temporary) report folder.
    pub dir: &'a Path,
}

impl Context<'_> {
    /// Draws a figure with `draw(path)` and records it.
    pub(crate) fn figure(
        &self,
        out: &mut Outcome,
        file: &str,
        caption: &str,
        draw: impl FnOnce(&Path) -> Result<(), HostError>,
    ) -> Result<(), HostError> {
        draw(&self.dir.join(file))?;
        out.figures.push(Figure {
            file: file.into(),
            caption: caption.into(),
        });
        Ok(())
    }
}

/// One experiment of the battery.
pub struct Experiment {
    /// Short name (progress messages).
    pub name: &'static str,
    /// Runs it.
    pub run: fn(&Context) -> Result<Outcome, HostError>,
}
