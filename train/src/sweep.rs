//! The training sweep of the paper's Fig. 4 (`gatedyn train-sweep`): GRUs
//! initialised on a grid of `σ_z × σ_h` at one small `σ_r`, several weight
//! seeds per point, each trained by [`crate::fit`]; per point the share of
//! slow modes of the Jacobian at initialisation, the epochs to a target
//! accuracy and the final accuracy, then their means over the seeds as
//! heat maps with `σ_h = 2` and the mean-field phase diagram's regions
//! (docs/THEORY.md §5) marked; the quantities are defined in §14.
//!
//! Every `(σ_z, σ_h, seed)` is an independent job with an index: a shard
//! `K/M` runs the indices `i` with `i mod M = K − 1` and writes one JSON
//! line per job ([`JobResult`]); [`merge`] assembles the sweep from any set
//! of lines, checking that they come from one sweep and cover it once. A
//! job's result depends only on its settings (its training is reproducible
//! bit for bit), so merged shards equal the single-process sweep.
//!
//! A job whose training fails numerically (a gradient that overflows) is a
//! result too: its line carries the [`JobResult::failure`], the sweep goes
//! on, and each point's statistics count the seeds that finished. A run
//! that stops half way keeps the lines of its finished jobs, and
//! [`resumable`] reads them back so that only the others run again.

use crate::fit::{self, FitConfig, FitEvent};
use crate::mnist::Split;
use crate::params::{Draw, Trainable};
use crate::tasks::Task;
use gatedyn::init::{GateScale, GruScales};
use gatedyn::mft::{GruMftParams, GruRegion, Mft};
use gatedyn::Activation;
use gatedyn::GruForm;
use gatedyn_host::net::form_by_name;
use gatedyn_host::net::Scales;
use gatedyn_host::theory::phase::{region_names, TabulatedAverages};
use gatedyn_host::HostError;
use gatedyn_host::Param;
use serde::{Deserialize, Serialize};

/// At most this many jobs in one sweep.
pub const MAX_JOBS: usize = 100_000;

/// What every job of a sweep shares: the task, the network and the
/// optimisation, as settings that can be compared between shard files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepSettings {
    /// `adding`, `copy` or `smnist`.
    pub task: String,
    /// Steps per sequence.
    pub length: usize,
    /// Permuted sMNIST: the permutation's seed (absent otherwise; pixels
    /// per step show in `length`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permute: Option<u64>,
    /// Hidden units.
    pub n: usize,
    /// The GRU's form (written `reset_before` or `reset_after`).
    #[serde(with = "form_by_name")]
    pub form: GruForm<()>,
    /// `σ_r` of every job.
    pub sigma_r: f64,
    /// Input-weight scale.
    pub sigma_input: f64,
    /// The grid's `σ_z` values (rows of the maps).
    pub sigma_z: Vec<f64>,
    /// The grid's `σ_h` values (columns).
    pub sigma_h: Vec<f64>,
    /// Weight seeds per point.
    pub seeds: Vec<u64>,
    /// How every job trains (its seed is the data's: the same data for
    /// every job); its fields sit beside the others in a shard line.
    #[serde(flatten)]
    pub fit: FitConfig,
}

/// A list of values for a message: at most eight of them.
fn shown(v: &[f64]) -> String {
    if v.len() <= 8 {
        format!("{v:?}")
    } else {
        format!("{:?} … ({} values)", &v[..8], v.len())
    }
}

/// One job of the grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Job {
    /// Its index (`σ_z` slowest, then `σ_h`, then the seed).
    pub index: usize,
    /// Row.
    pub sigma_z: f64,
    /// Column.
    pub sigma_h: f64,
    /// Weight seed.
    pub seed: u64,
}

/// A finished job: one JSON line of a shard file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobResult {
    /// The sweep it belongs to.
    pub settings: SweepSettings,
    /// The job's index.
    pub index: usize,
    /// `σ_z`.
    pub sigma_z: f64,
    /// `σ_h`.
    pub sigma_h: f64,
    /// Weight seed.
    pub seed: u64,
    /// Share of the Jacobian's eigenvalues with `|λ| > 1 − ε` at
    /// initialisation.
    pub slow_share_init: Option<f64>,
    /// Spectral radius at initialisation.
    pub radius_init: Option<f64>,
    /// First epoch at the target accuracy (`None`: not reached, or the
    /// job failed).
    pub epochs_to_target: Option<usize>,
    /// Test accuracy after the last epoch (`None`: the job failed).
    pub final_accuracy: Option<f64>,
    /// Test loss after the last epoch (`None`: the job failed).
    pub final_loss: Option<f64>,
    /// Seconds of the job.
    pub seconds: f64,
    /// Why the training stopped before its last epoch (a numerical
    /// failure, such as a gradient that overflowed); absent when it
    /// finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// The longest [`JobResult::failure`] a shard line may carry, in bytes.
pub const MAX_FAILURE_BYTES: usize = 2000;

impl SweepSettings {
    /// Checks the grid and the settings; [`HostError::Invalid`] names the
    /// flag.
    pub fn check(&self) -> Result<(), HostError> {
        let bad_in = |param: Param, m: String| Err(HostError::invalid(param, m));
        // first, and before any list is printed: a grid too large to run
        if self.jobs() > MAX_JOBS {
            return Err(HostError::BadInput(format!(
                "the grid has {} jobs; at most {MAX_JOBS}",
                self.jobs()
            )));
        }
        for (flag, v) in [
            (Param::SigmaZValues, &self.sigma_z),
            (Param::SigmaHValues, &self.sigma_h),
        ] {
            if v.is_empty() {
                return bad_in(flag, ": at least one value".to_string());
            }
            if v.windows(2).any(|w| w[0] >= w[1]) {
                return bad_in(
                    flag,
                    format!(": the values must increase (got {})", shown(v)),
                );
            }
            if v.iter()
                .any(|x| !(x.is_finite() && *x >= 0.0 && *x <= gatedyn_host::io::limits::MAX_SCALE))
            {
                return bad_in(
                    flag,
                    format!(": scales must be finite and >= 0 (got {})", shown(v)),
                );
            }
        }
        if self.seeds.is_empty() {
            return bad_in(Param::Seeds, ": at least one".into());
        }
        self.fit_config().check()
    }

    /// Jobs in the sweep.
    pub fn jobs(&self) -> usize {
        // saturating: a shard line from anyone cannot wrap the count to a
        // small number that passes the limit
        self.sigma_z
            .len()
            .saturating_mul(self.sigma_h.len())
            .saturating_mul(self.seeds.len())
    }

    /// Every job, in index order.
    pub fn all_jobs(&self) -> Vec<Job> {
        let mut out = Vec::with_capacity(self.jobs());
        for &sz in &self.sigma_z {
            for &sh in &self.sigma_h {
                for &seed in &self.seeds {
                    out.push(Job {
                        index: out.len(),
                        sigma_z: sz,
                        sigma_h: sh,
                        seed,
                    });
                }
            }
        }
        out
    }

    /// The jobs of shard `k` of `of` (1-based): indices `≡ k − 1 (mod of)`.
    pub fn shard(&self, k: usize, of: usize) -> Result<Vec<Job>, HostError> {
        if of == 0 || k == 0 || k > of {
            return Err(HostError::invalid(
                Param::Shard,
                format!(" {k}/{of}: K/M with 1 <= K <= M"),
            ));
        }
        Ok(self
            .all_jobs()
            .into_iter()
            .filter(|j| j.index % of == k - 1)
            .collect())
    }

    /// The training settings of every job.
    pub fn fit_config(&self) -> &FitConfig {
        &self.fit
    }

    /// The initial scales of `job`: zero biases, as in the paper.
    pub fn scales(&self, job: &Job) -> Scales {
        let g = |sigma| GateScale {
            sigma,
            bias: 0.0,
            input: self.sigma_input,
        };
        Scales::Gru(GruScales {
            z: g(job.sigma_z),
            r: g(self.sigma_r),
            h: g(job.sigma_h),
        })
    }
}

/// Runs one job on `task` (which must be the settings' task).
///
/// A numerical failure of the training ([`HostError::Numerical`]) is the
/// job's result, with [`JobResult::failure`] saying what failed (and the
/// slow-mode share at initialisation, when it was reached); any other
/// error is the sweep's and is returned.
pub fn run_job(task: &Task, settings: &SweepSettings, job: &Job) -> Result<JobResult, HostError> {
    let t0 = std::time::Instant::now();
    let mut net = Trainable::random(&Draw {
        n: settings.n,
        inputs: task.inputs(),
        outputs: task.outputs(),
        scales: settings.scales(job),
        form: settings.form,
        activation: Activation::Tanh,
        seed: job.seed,
    })?;
    let mut init = None;
    let fitted = fit::fit(task, &mut net, settings.fit_config(), |event| {
        if let FitEvent::Checkpoint(record) = event {
            if record.epoch == 0 {
                init = record.dynamics.clone();
            }
        }
    });
    let mut result = JobResult {
        settings: settings.clone(),
        index: job.index,
        sigma_z: job.sigma_z,
        sigma_h: job.sigma_h,
        seed: job.seed,
        slow_share_init: init.as_ref().map(|d| d.slow_share),
        radius_init: init.as_ref().map(|d| d.spectral_radius),
        epochs_to_target: None,
        final_accuracy: None,
        final_loss: None,
        seconds: 0.0,
        failure: None,
    };
    match fitted {
        Ok(report) => {
            result.epochs_to_target = report.epochs_to_target;
            result.final_accuracy = Some(report.final_accuracy);
            result.final_loss = Some(report.final_loss);
        }
        Err(e @ HostError::Numerical { .. }) => result.failure = Some(e.to_string()),
        Err(e) => return Err(e),
    }
    result.seconds = t0.elapsed().as_secs_f64();
    Ok(result)
}

/// Checks that `task` is the one the settings name (for shards run from
/// the flags).
pub fn check_task(task: &Task, settings: &SweepSettings) -> Result<(), HostError> {
    let permute = task.pixel_order().and_then(|o| o.permute);
    if task.name() != settings.task
        || task.length() != settings.length
        || permute != settings.permute
    {
        return Err(HostError::BadInput(format!(
            "the task {} T={} is not the sweep's {} T={}",
            task.name(),
            task.length(),
            settings.task,
            settings.length
        )));
    }
    fit::check_memory(task, settings.fit_config(), settings.n)?;
    // the data must exist for the sizes asked (sMNIST)
    task.examples(Split::Test, 1, settings.fit.seed, Param::TestSize)
        .map(|_| ())
}

/// Mean and standard deviation (over the seeds) of one quantity at one
/// grid point; `reached` counts the seeds that have a value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeedStats {
    /// Mean over the seeds that have a value (`None`: none has).
    pub mean: Option<f64>,
    /// Sample standard deviation (`None` below two values).
    pub std: Option<f64>,
    /// Seeds with a value.
    pub count: usize,
}

fn seed_stats(values: &[Option<f64>]) -> SeedStats {
    let v: Vec<f64> = values.iter().flatten().copied().collect();
    let count = v.len();
    let mean = (count > 0).then(|| v.iter().sum::<f64>() / count as f64);
    let std = mean
        .filter(|_| count > 1)
        .map(|m| (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (count - 1) as f64).sqrt());
    SeedStats { mean, std, count }
}

/// The assembled sweep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sweep {
    /// The settings shared by every job.
    pub settings: SweepSettings,
    /// Mean-field region per `σ_h` column at the sweep's `σ_r` (the
    /// region does not depend on `σ_z`).
    #[serde(serialize_with = "region_names")]
    pub regions: Vec<GruRegion>,
    /// `[i][j]` at `(σ_z[i], σ_h[j])`: the slow-mode share at
    /// initialisation.
    pub slow_share_init: Vec<Vec<SeedStats>>,
    /// Epochs to the target accuracy (over the seeds that reached it).
    pub epochs_to_target: Vec<Vec<SeedStats>>,
    /// Final test accuracy.
    pub final_accuracy: Vec<Vec<SeedStats>>,
    /// Every job, in index order.
    pub jobs: Vec<JobResult>,
    /// The indices of the jobs that failed ([`JobResult::failure`]), in
    /// order; the statistics above leave them out.
    pub failed: Vec<usize>,
    /// Summed seconds of the jobs.
    pub job_seconds: f64,
}

/// Assembles a sweep from job results (from one process or any set of
/// shard files): they must share one [`SweepSettings`] and cover every
/// index exactly once; a [`HostError::Invalid`] says which do not.
pub fn merge(mut results: Vec<JobResult>) -> Result<Sweep, HostError> {
    let Some(first) = results.first() else {
        return Err(HostError::invalid(
            Param::Merge,
            ": no job results in the files".into(),
        ));
    };
    let settings = first.settings.clone();
    if let Some(other) = results.iter().find(|r| r.settings != settings) {
        return Err(HostError::invalid(Param::Merge,format!(
            ": job {} comes from a different sweep than job {} (its settings differ); merge the shards of one sweep",
            other.index, first.index
        )));
    }
    settings.check()?;
    results.sort_by_key(|r| r.index);
    let total = settings.jobs();
    if let Some(w) = results.windows(2).find(|w| w[0].index == w[1].index) {
        return Err(HostError::invalid(
            Param::Merge,
            format!(": job {} appears twice (a shard given twice?)", w[0].index),
        ));
    }
    let expected = settings.all_jobs();
    if let Some(r) = results.iter().find(|r| r.index >= total) {
        return Err(HostError::invalid(
            Param::Merge,
            format!(": job {} is past the sweep's {total} jobs", r.index),
        ));
    }
    for r in &results {
        let j = &expected[r.index];
        if (j.sigma_z, j.sigma_h, j.seed) != (r.sigma_z, r.sigma_h, r.seed) {
            return Err(HostError::invalid(Param::Merge,format!(
                ": job {} has σ_z {}, σ_h {}, seed {}, but the grid puts σ_z {}, σ_h {}, seed {} there",
                r.index, r.sigma_z, r.sigma_h, r.seed, j.sigma_z, j.sigma_h, j.seed
            )));
        }
    }
    if results.len() != total {
        let have: std::collections::BTreeSet<usize> = results.iter().map(|r| r.index).collect();
        let missing: Vec<String> = (0..total)
            .filter(|i| !have.contains(i))
            .take(8)
            .map(|i| i.to_string())
            .collect();
        return Err(HostError::invalid(
            Param::Merge,
            format!(
            ": {} of the sweep's {total} jobs are missing (first: {}); is a shard file missing?",
            total - results.len(),
            missing.join(", ")
        ),
        ));
    }
    let (nz, nh, ns) = (
        settings.sigma_z.len(),
        settings.sigma_h.len(),
        settings.seeds.len(),
    );
    let grid = |f: &dyn Fn(&JobResult) -> Option<f64>| -> Vec<Vec<SeedStats>> {
        (0..nz)
            .map(|i| {
                (0..nh)
                    .map(|j| {
                        let at = (i * nh + j) * ns;
                        let v: Vec<Option<f64>> = results[at..at + ns].iter().map(f).collect();
                        seed_stats(&v)
                    })
                    .collect()
            })
            .collect()
    };
    let regions = regions(&settings)?;
    Ok(Sweep {
        slow_share_init: grid(&|r| r.slow_share_init),
        epochs_to_target: grid(&|r| r.epochs_to_target.map(|e| e as f64)),
        final_accuracy: grid(&|r| r.final_accuracy),
        failed: results
            .iter()
            .filter(|r| r.failure.is_some())
            .map(|r| r.index)
            .collect(),
        job_seconds: results.iter().map(|r| r.seconds).sum(),
        jobs: results,
        regions,
        settings,
    })
}

/// The mean-field region of each `σ_h` column at the sweep's `σ_r`.
pub fn regions(settings: &SweepSettings) -> Result<Vec<GruRegion>, HostError> {
    let mft = Mft::with_averages(TabulatedAverages::new());
    settings
        .sigma_h
        .iter()
        .map(|&sh| {
            mft.classify(&GruMftParams::new(sh, settings.sigma_r))
                .map_err(HostError::from)
        })
        .collect()
}

/// Reads job results from JSON-lines text (`name` for errors); blank
/// lines are skipped.
pub fn parse_lines(name: &str, text: &str) -> Result<Vec<JobResult>, HostError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(k, l)| {
            let bad = |what: String| {
                HostError::invalid(Param::Merge, format!(" {name}: line {}: {what}", k + 1))
            };
            let r: JobResult =
                serde_json::from_str(l).map_err(|e| bad(format!("not a job result ({e})")))?;
            // the line names its own fields: a wrong one is the file's, in
            // the line's words, not a flag the user never gave
            r.check_line().map_err(|e| match e {
                HostError::Invalid { param, message } => bad(format!("{}{message}", param.name())),
                other => bad(other.to_string()),
            })?;
            Ok(r)
        })
        .collect()
}

impl JobResult {
    /// A job result read from a shard line: its settings in their domains
    /// (those a run checks, and the network's size, the sequence length and
    /// the task), its result fields in theirs.
    pub fn check_line(&self) -> Result<(), HostError> {
        let st = &self.settings;
        st.check()?;
        if !["adding", "copy", "smnist", "flipflop"].contains(&st.task.as_str()) {
            return Err(HostError::BadInput(format!(
                "task {:?} is not a task of gatedyn",
                st.task
            )));
        }
        if st.n == 0 || st.length == 0 {
            return Err(HostError::BadInput(format!(
                "n {} and length {}: both must be at least 1",
                st.n, st.length
            )));
        }
        let share = |name: &str, v: Option<f64>| match v {
            Some(x) if !(0.0..=1.0).contains(&x) => {
                Err(HostError::BadInput(format!("{name} {x} is not in [0, 1]")))
            }
            _ => Ok(()),
        };
        share("final_accuracy", self.final_accuracy)?;
        share("slow_share_init", self.slow_share_init)?;
        if let Some(loss) = self.final_loss.filter(|l| !(l.is_finite() && *l >= 0.0)) {
            return Err(HostError::BadInput(format!(
                "final_loss {loss} is not a finite loss"
            )));
        }
        match &self.failure {
            None if self.final_accuracy.is_none() || self.final_loss.is_none() => {
                return Err(HostError::BadInput(
                    "a finished job needs final_accuracy and final_loss (or a failure)".into(),
                ));
            }
            Some(why)
                if self.final_accuracy.is_some()
                    || self.final_loss.is_some()
                    || self.epochs_to_target.is_some() =>
            {
                return Err(HostError::BadInput(format!(
                    "the job failed ({}) but has results",
                    shorten(why)
                )));
            }
            Some(why) if why.len() > MAX_FAILURE_BYTES || why.chars().any(char::is_control) => {
                return Err(HostError::BadInput(format!(
                    "failure: at most {MAX_FAILURE_BYTES} bytes of text without control characters ({} bytes)",
                    why.len()
                )));
            }
            _ => {}
        }
        if self
            .epochs_to_target
            .is_some_and(|e| e == 0 || e > st.fit.epochs)
        {
            return Err(HostError::BadInput(format!(
                "epochs_to_target {:?} is outside 1..={}",
                self.epochs_to_target, st.fit.epochs
            )));
        }
        Ok(())
    }
}

/// The first 80 characters of `text`, with control characters shown
/// escaped.
fn shorten(text: &str) -> String {
    let head: String = text.chars().take(80).collect();
    let head = format!("{head:?}");
    if text.chars().nth(80).is_some() {
        format!("{head}…")
    } else {
        head
    }
}

/// What a run of `jobs` finds already done in a lines file it resumes:
/// the results read from `text` (`name` for errors), which must come from
/// this sweep (`settings`) and be jobs of this run. A last line cut short
/// (the run was stopped while writing it; no newline at its end) is
/// dropped and the job runs again. Errors are [`HostError::Invalid`] for
/// [`Param::Lines`].
pub fn resumable(
    name: &str,
    text: &str,
    settings: &SweepSettings,
    jobs: &[Job],
) -> Result<Vec<JobResult>, HostError> {
    let whole = match text.rfind('\n') {
        // everything after the last newline was being written
        Some(end) => &text[..=end],
        None => "",
    };
    let bad = |m: String| HostError::invalid(Param::Lines, format!(" {name}: {m}"));
    // parse_lines's messages name the file and the line
    let done = parse_lines(name, whole).map_err(|e| match e {
        HostError::Invalid { message, .. } => HostError::invalid(Param::Lines, message),
        other => other,
    })?;
    let ours: std::collections::BTreeSet<usize> = jobs.iter().map(|j| j.index).collect();
    let mut seen = std::collections::BTreeSet::new();
    for r in &done {
        if r.settings != *settings {
            return Err(bad(format!(
                "job {} comes from a different sweep (its settings differ from this run's); give another file to --lines, or the flags of that sweep",
                r.index
            )));
        }
        if !ours.contains(&r.index) {
            return Err(bad(format!(
                "job {} is not one of this run's jobs (another shard's file?)",
                r.index
            )));
        }
        if !seen.insert(r.index) {
            return Err(bad(format!("job {} appears twice", r.index)));
        }
    }
    Ok(done)
}

/// Job results as JSON lines.
pub fn to_lines(results: &[JobResult]) -> Result<String, HostError> {
    let mut out = String::new();
    for r in results {
        out.push_str(&r.to_line()?);
        out.push('\n');
    }
    Ok(out)
}

impl JobResult {
    /// The job's JSON line, without its newline.
    pub fn to_line(&self) -> Result<String, HostError> {
        serde_json::to_string(self)
            .map_err(|e| HostError::Io(format!("cannot serialise a job result: {e}")))
    }
}
