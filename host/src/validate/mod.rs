//! `gatedyn validate`: the battery of checks of the theory against
//! numerics (docs/THEORY.md §6), a pass/fail table and a report folder with
//! a Markdown summary and every figure.
//!
//! The battery is a list of [`Experiment`]s; each runs its networks, draws
//! its figures and returns its checks and the figures it drew, so the
//! report lists exactly the figures that exist. The report is written into
//! a temporary folder beside the target and moved into place only when
//! complete: an interrupted run leaves the previous report as it was.
//!
//! The binary-gate/hard-tanh rows use a trajectory state rather than a fixed
//! point: with a binary update gate, `σ'(a_z) = 0` and the Jacobian has the
//! structure of docs/THEORY.md §4 at any state.
//!
//! May import: everything below it (`io`, `net`, `linalg`, `formats`,
//! `theory`, `figures`).

use crate::HostError;
use crate::Param;
use serde::Serialize;
use std::path::Path;

mod check;
mod dynamics;
mod gru;
mod lstm;
mod rows;

pub use check::*;
use dynamics::*;
use gru::*;
use lstm::*;

/// The battery, in table order.
pub const EXPERIMENTS: [Experiment; 14] = [
    Experiment {
        name: "GRU zero fixed point",
        run: gru_zero_fixed_point,
    },
    Experiment {
        name: "GRU chaotic states",
        run: gru_chaotic,
    },
    Experiment {
        name: "GRU reset-gate scaling",
        run: gru_reset_scaling,
    },
    Experiment {
        name: "GRU slow modes",
        run: gru_slow_modes,
    },
    Experiment {
        name: "LSTM zero fixed point",
        run: lstm_zero_fixed_point,
    },
    Experiment {
        name: "LSTM slow modes",
        run: lstm_slow_modes,
    },
    Experiment {
        name: "LSTM input and output gates",
        run: lstm_input_output,
    },
    Experiment {
        name: "binary update gate, hard-tanh",
        run: binary_gate,
    },
    Experiment {
        name: "GRU fixed points",
        run: gru_fixed_points,
    },
    Experiment {
        name: "phase diagram",
        run: phase_diagram,
    },
    Experiment {
        name: "Lyapunov spectrum at the zero fixed point",
        run: lyapunov_zero_fixed_point,
    },
    Experiment {
        name: "complexity transition at σ_r*",
        run: complexity_transition,
    },
    Experiment {
        name: "σ_h = 2 transition",
        run: sigma_h_transition,
    },
    Experiment {
        name: "long-term Jacobian",
        run: long_term_jacobian,
    },
];

/// The battery's result.
#[derive(Debug, Clone, Serialize)]
pub struct Validation {
    /// Hidden size used.
    pub n: usize,
    /// The rows.
    pub checks: Vec<Check>,
    /// The figures in the report folder.
    pub figures: Vec<Figure>,
    /// Seconds spent.
    pub seconds: f64,
}

impl Validation {
    /// Whether every row passed.
    pub fn all_pass(&self) -> bool {
        self.checks.iter().all(|c| c.pass)
    }
    /// Rows that failed.
    pub fn failed(&self) -> usize {
        self.checks.iter().filter(|c| !c.pass).count()
    }
    /// The table as text.
    pub fn table(&self) -> String {
        let mut s = format!(
            "{:<58} {:>12} {:>12} {:>10}  result\n",
            "check", "predicted", "measured", "tolerance"
        );
        for c in &self.checks {
            s.push_str(&format!(
                "{:<58} {:>12.5} {:>12.5} {:>10}  {}\n",
                c.name,
                c.predicted,
                c.measured,
                c.tolerance,
                if c.pass { "pass" } else { "FAIL" }
            ));
        }
        s
    }
    /// `summary.md`: the table and every figure.
    pub fn markdown(&self) -> String {
        let mut md = format!(
            "# gatedyn validate\n\nN = {}, {:.1} s, {} of {} checks passed.\n\n| check | predicted | measured | tolerance | result |\n|---|---|---|---|---|\n",
            self.n,
            self.seconds,
            self.checks.len() - self.failed(),
            self.checks.len()
        );
        for c in &self.checks {
            md.push_str(&format!(
                "| {} | {:.5} | {:.5} | {} | {} |\n",
                c.name,
                c.predicted,
                c.measured,
                c.tolerance,
                if c.pass { "pass" } else { "**FAIL**" }
            ));
        }
        md.push_str("\n## Figures\n\n");
        for f in &self.figures {
            md.push_str(&format!("![{}]({})\n\n{}\n\n", f.file, f.file, f.caption));
        }
        md.push_str("The binary-gate/hard-tanh rows use a trajectory state, not a fixed point: with a binary update gate the Jacobian has the same structure at any state (σ'(a_z) = 0).\n");
        md
    }
}

/// The smallest hidden size of the battery.
pub const MIN_N: usize = 50;

/// Checks the arguments before anything runs: the size, its memory, and
/// that `report` can be replaced (a missing folder or an earlier gatedyn
/// report, in a writable parent).
pub fn check(n: usize, report: &Path) -> Result<(), HostError> {
    if n < MIN_N {
        return Err(HostError::invalid(
            Param::N,
            format!(" must be at least {MIN_N} for the battery, got {n}"),
        ));
    }
    // the largest run: an LSTM at n (state 2n) with the dense solve
    crate::io::limits::check_memory(
        Param::N,
        n,
        crate::net::bytes_needed(crate::net::Cell::Lstm, n),
    )?;
    let bad =
        |why: String| HostError::invalid(Param::Report, format!(" {}: {why}", report.display()));
    if report.exists() {
        if !report.is_dir() {
            return Err(bad("exists and is not a folder".into()));
        }
        let ours = report.join("summary.json").is_file();
        let empty = std::fs::read_dir(report)
            .map_err(|e| bad(format!("cannot read: {e}")))?
            .next()
            .is_none();
        if !(ours || empty) {
            return Err(bad(
                "exists and is not a gatedyn report (no summary.json): choose another folder"
                    .into(),
            ));
        }
    }
    // the report is built in a sibling folder and renamed: the parent must
    // take new folders
    let parent = crate::io::output::parent_folder(report);
    if !parent.is_dir() {
        return Err(bad(format!("folder {} does not exist", parent.display())));
    }
    let probe = parent.join(format!(".gatedyn-probe-{}", std::process::id()));
    std::fs::create_dir(&probe).map_err(|e| {
        bad(format!(
            "cannot create folders in {}: {e}",
            parent.display()
        ))
    })?;
    let _ = std::fs::remove_dir(&probe);
    Ok(())
}

/// Runs the battery at size `n` and puts the report into `report` (the
/// folder is replaced only when the report is complete);
/// `progress(done, total, name)` before each experiment.
pub fn run(
    n: usize,
    report: &Path,
    mut progress: impl FnMut(usize, usize, &str),
) -> Result<Validation, HostError> {
    check(n, report)?;
    let parent = crate::io::output::parent_folder(report);
    let name = report
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    let partial = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let io = |what: &str, p: &Path, e: std::io::Error| {
        HostError::Io(format!("cannot {what} {}: {e}", p.display()))
    };
    std::fs::create_dir_all(&partial).map_err(|e| io("create", &partial, e))?;
    let result = run_into(n, &partial, &mut progress).and_then(|v| {
        crate::io::output::write_atomic(&partial.join("summary.md"), &v.markdown())?;
        crate::io::output::write_atomic(
            &partial.join("summary.json"),
            &crate::io::output::to_json(&v)?,
        )?;
        // swap: the old report aside, the new one in, the old one removed
        let old = parent.join(format!(".{name}.old-{}", std::process::id()));
        if report.exists() {
            std::fs::rename(report, &old).map_err(|e| io("move aside", report, e))?;
        }
        std::fs::rename(&partial, report).map_err(|e| io("create", report, e))?;
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(|e| io("remove", &old, e))?;
        }
        Ok(v)
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    result
}

fn run_into(
    n: usize,
    dir: &Path,
    progress: &mut impl FnMut(usize, usize, &str),
) -> Result<Validation, HostError> {
    let t0 = std::time::Instant::now();
    let ctx = Context { n, dir };
    let (mut checks, mut figures) = (vec![], vec![]);
    for (k, e) in EXPERIMENTS.iter().enumerate() {
        progress(k, EXPERIMENTS.len(), e.name);
        let o = (e.run)(&ctx)?;
        checks.extend(o.checks);
        figures.extend(o.figures);
    }
    progress(EXPERIMENTS.len(), EXPERIMENTS.len(), "done");
    Ok(Validation {
        n,
        checks,
        figures,
        seconds: t0.elapsed().as_secs_f64(),
    })
}
