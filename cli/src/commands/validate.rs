//! `gatedyn validate`: the battery of checks (docs/THEORY.md §6), a pass/fail
//! table and a report folder, replaced only when complete.

use super::args::{count, OutputArgs, Progress};
use clap::Args;
use gatedyn_host::io::output;
use gatedyn_host::validate::{self, EXPERIMENTS, MIN_N};
use gatedyn_host::HostError;
use std::path::PathBuf;

/// The flags of `validate`.
#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Hidden size.
    #[arg(long, default_value_t = 1000, value_parser = count(MIN_N, usize::MAX))]
    n: usize,
    /// N = 500: a fast run.
    #[arg(long, conflicts_with = "n")]
    quick: bool,
    /// The report folder (replaced when the run completes).
    #[arg(long, default_value = "report", value_name = "DIR")]
    report: PathBuf,
    #[command(flatten)]
    out: OutputArgs,
}

/// Runs `gatedyn validate`; exit status 1 when a check fails.
pub fn run(a: ValidateArgs) -> Result<(), HostError> {
    let n = if a.quick { 500 } else { a.n };
    a.out.check(None, &[])?;
    let bar = Progress::new(a.out.quiet, EXPERIMENTS.len() as u64);
    let v = validate::run(n, &a.report, |k, _, name| {
        bar.at(k);
        bar.message(name);
    })?;
    drop(bar);
    // the table goes where the JSON does not
    let table = v.table();
    if a.out.json_on_stdout() {
        if !a.out.quiet {
            eprint!("{table}");
        }
    } else {
        output::write_stdout(table.trim_end())?;
    }
    let summary = format!(
        "{} of {} checks passed in {:.1} s; report in {}",
        v.checks.len() - v.failed(),
        v.checks.len(),
        v.seconds,
        a.report.display()
    );
    a.out.emit_report(&v, &summary, false)?;
    match v.failed() {
        0 => Ok(()),
        k => Err(HostError::ChecksFailed(k)),
    }
}
