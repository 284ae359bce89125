//! `gatedyn train-sweep`: the paper's Fig. 4 grid (σ_z × σ_h at one small
//! σ_r, several seeds), in one process, as shards (`--shard K/M --lines
//! PATH`), merged from shard files (`--merge`), or as a Slurm job array
//! (`--emit-slurm`). See [`gatedyn_train::sweep`].

use super::args::{count, scale, OutputArgs, Progress};
use super::train::{Defaults, FormArg, OptimArgs, TaskArgs};
use clap::Args;
use gatedyn_host::figures::plot;
use gatedyn_host::io::output::{self, Target};
use gatedyn_host::net::form_name;
use gatedyn_host::theory::phase::region_name;
use gatedyn_host::HostError;
use gatedyn_train::sweep::{self, JobResult, SeedStats, Sweep, SweepSettings};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// A comma-separated list of scales (one flag value).
#[derive(Clone, Debug)]
pub struct ScaleList(pub Vec<f64>);

fn scales(s: &str) -> Result<ScaleList, String> {
    s.split(',')
        .map(|v| scale(v.trim()))
        .collect::<Result<Vec<f64>, String>>()
        .map(ScaleList)
}

/// `K/M`.
fn shard(s: &str) -> Result<(usize, usize), String> {
    let (k, m) = s
        .split_once('/')
        .ok_or_else(|| format!("must be K/M (e.g. 3/8), got {s:?}"))?;
    let k: usize = k
        .trim()
        .parse()
        .map_err(|_| format!("K must be a whole number, got {k:?}"))?;
    let m: usize = m
        .trim()
        .parse()
        .map_err(|_| format!("M must be a whole number, got {m:?}"))?;
    if k == 0 || m == 0 || k > m {
        return Err(format!("must be K/M with 1 <= K <= M, got {k}/{m}"));
    }
    Ok((k, m))
}

/// The flags of `gatedyn train-sweep`.
#[derive(Args, Debug)]
pub struct TrainSweepArgs {
    #[command(flatten)]
    task: TaskArgs,
    /// Hidden units.
    #[arg(long, default_value_t = 32, value_parser = count(1, 4096))]
    n: usize,
    /// The GRU's form.
    #[arg(long, value_enum, default_value_t = FormArg::ResetBefore)]
    form: FormArg,
    /// σ_r of every point (small, as in the paper's Fig. 4).
    #[arg(long, default_value_t = 0.5, value_parser = scale)]
    sigma_r: f64,
    /// Input-weight scale of every gate.
    #[arg(long, default_value_t = 1.0, value_parser = scale)]
    sigma_input: f64,
    /// The σ_z values (rows), increasing.
    #[arg(long, default_value = "0.5,1,2,4", value_parser = scales)]
    sigma_z_values: ScaleList,
    /// The σ_h values (columns), increasing.
    #[arg(long, default_value = "1,1.5,2,2.5,3", value_parser = scales)]
    sigma_h_values: ScaleList,
    /// Weight seeds per point (1, 2, …).
    #[arg(long, default_value_t = 3, value_parser = count(1, 1000))]
    seeds: usize,
    #[command(flatten)]
    optim: OptimArgs,
    /// Run only share K of M (jobs whose index is K − 1 mod M) and write
    /// their results as JSON lines to `--lines`.
    #[arg(long, value_name = "K/M", value_parser = shard, requires = "lines")]
    shard: Option<(usize, usize)>,
    /// Write the job results as JSON lines (one per job) to PATH, each as
    /// its job finishes (in index order once all have).
    #[arg(long, value_name = "PATH")]
    lines: Option<PathBuf>,
    /// Keep the jobs already in `--lines` (a run that was stopped, or a
    /// requeued Slurm task) and run only the others; a missing file is
    /// a run from the start.
    #[arg(long, requires = "lines")]
    resume: bool,
    /// Assemble the sweep from these JSON-lines files (shards of one
    /// sweep, any order) instead of training.
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["shard", "emit_slurm", "resume"])]
    merge: Vec<PathBuf>,
    /// Write the heat maps (slow_share_init, epochs_to_target,
    /// final_accuracy), sweep.json and jobs.jsonl into DIR.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Figure format of `--report`.
    #[arg(long, default_value = "svg", value_parser = ["svg", "png"])]
    format: String,
    /// Write a Slurm job-array script for this sweep to PATH (and train
    /// nothing): each array task runs one shard.
    #[arg(long, value_name = "PATH", conflicts_with = "shard")]
    emit_slurm: Option<PathBuf>,
    /// Array tasks of `--emit-slurm` (default: one per job, at most 1000).
    #[arg(long, value_parser = count(1, MAX_ARRAY), requires = "emit_slurm")]
    array: Option<usize>,
    #[command(flatten)]
    out: OutputArgs,
}

/// The defaults scaled to about 3 minutes on 2 cores (adding T = 100,
/// N = 32, 60 jobs of 10 epochs over 1024 sequences).
pub const SWEEP_DEFAULTS: Defaults = Defaults {
    train_size: 1024,
    test_size: 256,
    target_accuracy: 0.3,
};

/// The largest Slurm array `--emit-slurm` writes (Slurm's default
/// `MaxArraySize` is 1001).
const MAX_ARRAY: usize = 1000;

/// Runs `gatedyn train-sweep`; a failed run leaves no report folder it
/// created.
pub fn run(a: TrainSweepArgs) -> Result<(), HostError> {
    let created = a.report.as_ref().filter(|d| !d.exists()).cloned();
    let r = run_checked(a);
    if let (Err(_), Some(d)) = (&r, created) {
        let _ = std::fs::remove_dir_all(d);
    }
    r
}

fn run_checked(a: TrainSweepArgs) -> Result<(), HostError> {
    if let Some(d) = &a.report {
        check_report_dir(d)?;
    }
    let report_json = a
        .report
        .as_ref()
        .map(|d| Target::File(d.join("sweep.json")));
    let lines = a.lines.clone().map(Target::File);
    let script = a.emit_slurm.clone().map(Target::File);
    a.out.check(
        None,
        &[
            ("--lines", lines.as_ref()),
            ("--report", report_json.as_ref()),
            ("--emit-slurm", script.as_ref()),
        ],
    )?;
    if !a.merge.is_empty() {
        let mut results = vec![];
        for p in &a.merge {
            let text = read_lines_file("--merge", p)?;
            results.extend(sweep::parse_lines(&p.display().to_string(), &text)?);
        }
        let sweep = sweep::merge(results)?;
        return finish(&a, &sweep);
    }
    let task = a.task.task()?;
    let cfg = a.optim.config(&task, &SWEEP_DEFAULTS);
    let settings = SweepSettings {
        task: task.name().into(),
        length: task.length(),
        permute: task.pixel_order().and_then(|o| o.permute),
        n: a.n,
        form: a.form.gru_form(),
        sigma_r: a.sigma_r,
        sigma_input: a.sigma_input,
        sigma_z: a.sigma_z_values.0.clone(),
        sigma_h: a.sigma_h_values.0.clone(),
        seeds: (1..=a.seeds as u64).collect(),
        fit: cfg,
    };
    settings.check()?;
    sweep::check_task(&task, &settings)?;
    if let Some(p) = &a.emit_slurm {
        return emit_slurm(&a, p, &settings);
    }
    let jobs = match a.shard {
        Some((k, m)) => settings.shard(k, m)?,
        None => settings.all_jobs(),
    };
    let mut results = match (&a.lines, a.resume) {
        (Some(p), true) if p.exists() => {
            let text = read_lines_file("--lines", p)?;
            sweep::resumable(&p.display().to_string(), &text, &settings, &jobs)?
        }
        _ => vec![],
    };
    let done: std::collections::BTreeSet<usize> = results.iter().map(|r| r.index).collect();
    let todo: Vec<_> = jobs.iter().filter(|j| !done.contains(&j.index)).collect();
    // the file holds the finished jobs from now on, whatever stops the run
    let log = match &a.lines {
        Some(p) => {
            output::write_atomic(p, &sweep::to_lines(&results)?)?;
            Some(output::LineLog::append_to(p)?)
        }
        None => None,
    };
    let bar = Progress::new(a.out.quiet, jobs.len() as u64);
    bar.message("jobs (σ_z, σ_h, seed)");
    if !results.is_empty() {
        bar.inc(results.len());
        bar.note(&format!(
            "train-sweep: {} of {} jobs already in --lines; running the other {}",
            results.len(),
            jobs.len(),
            todo.len()
        ));
    }
    // jobs side by side, each training's batch in parallel inside: the
    // results do not depend on the scheduling
    let fresh: Vec<JobResult> = todo
        .par_iter()
        .map(|j| {
            let r = sweep::run_job(&task, &settings, j)?;
            if let Some(log) = &log {
                log.push(&r.to_line()?)?;
            }
            if let Some(why) = &r.failure {
                bar.note(&format!(
                    "train-sweep: job {} (σ_z {}, σ_h {}, seed {}) failed: {why}",
                    r.index, r.sigma_z, r.sigma_h, r.seed
                ));
            }
            bar.inc(1);
            Ok(r)
        })
        .collect::<Result<_, HostError>>()?;
    drop(bar);
    results.extend(fresh);
    results.sort_by_key(|r| r.index);
    if let Some(p) = &a.lines {
        // the same lines, in index order
        output::write_atomic(p, &sweep::to_lines(&results)?)?;
    }
    if let Some((k, m)) = a.shard {
        let failed = results.iter().filter(|r| r.failure.is_some()).count();
        return output::write_stdout(&format!(
            "shard {k}/{m}: {} of the sweep's {} jobs done{}, {} s of training{}",
            results.len(),
            settings.jobs(),
            if failed > 0 {
                format!(" ({failed} failed)")
            } else {
                String::new()
            },
            results.iter().map(|r| r.seconds).sum::<f64>().round(),
            a.lines
                .as_ref()
                .map(|p| format!("; results in {}", p.display()))
                .unwrap_or_default()
        ));
    }
    let sweep = sweep::merge(results)?;
    finish(&a, &sweep)
}

/// The text of a job-results file given to `flag`.
fn read_lines_file(flag: &str, p: &Path) -> Result<String, HostError> {
    // a shard line is about 600 bytes; 2^30 bytes hold any sweep
    gatedyn_host::io::files::read_regular_text(p, 1 << 30)
        .map_err(|why| HostError::BadInput(format!("{flag} {}: {why}", p.display())))
}

fn check_report_dir(d: &Path) -> Result<(), HostError> {
    if d.exists() && !d.is_dir() {
        return Err(HostError::BadInput(format!(
            "--report {}: exists and is not a folder",
            d.display()
        )));
    }
    let parent = output::parent_folder(d);
    if !parent.is_dir() {
        return Err(HostError::BadInput(format!(
            "--report {}: folder {} does not exist",
            d.display(),
            parent.display()
        )));
    }
    std::fs::create_dir_all(d)
        .map_err(|e| HostError::BadInput(format!("--report {}: cannot create: {e}", d.display())))
}

/// The report folder, the JSON and the table.
fn finish(a: &TrainSweepArgs, sweep: &Sweep) -> Result<(), HostError> {
    if let Some(dir) = &a.report {
        draw(dir, &a.format, sweep)?;
        output::write_atomic(&dir.join("jobs.jsonl"), &sweep::to_lines(&sweep.jobs)?)?;
        output::write_atomic(&dir.join("sweep.json"), &output::to_json(sweep)?)?;
    }
    a.out.emit(sweep, &table(sweep))
}

/// A point's value as the table and the maps show it: `mean±sd`, and
/// `(count/seeds)` when some of its `seeds` have no value (not reached, or
/// failed).
fn point_label(c: &SeedStats, digits: usize, seeds: usize) -> String {
    let mut label = mean_sd(c, digits);
    if c.count < seeds {
        label.push_str(&format!(" ({}/{seeds})", c.count));
    }
    label
}

fn mean_sd(c: &SeedStats, digits: usize) -> String {
    match (c.mean, c.std) {
        (Some(m), Some(s)) => format!("{m:.digits$}±{s:.digits$}"),
        (Some(m), None) => format!("{m:.digits$}"),
        _ => "–".into(),
    }
}

/// The sweep as text: one block per quantity, σ_z rows and σ_h columns.
pub fn table(s: &Sweep) -> String {
    let st = &s.settings;
    let mut out = format!(
        "train-sweep: {} T={}, GRU N={} ({}), σ_r = {}, {} epochs, {} seeds per point, {} jobs, {:.0} s of training\n",
        st.task,
        st.length,
        st.n,
        form_name(&st.form),
        st.sigma_r,
        st.fit.epochs,
        st.seeds.len(),
        s.jobs.len(),
        s.job_seconds
    );
    let header = |name: &str| {
        let mut h = format!("\n{name}\nσ_z \\ σ_h");
        for v in &st.sigma_h {
            h.push_str(&format!("\t{v}"));
        }
        h
    };
    let block = |name: &str, grid: &[Vec<SeedStats>], digits: usize| {
        let mut b = header(name);
        for (i, row) in grid.iter().enumerate().rev() {
            b.push_str(&format!("\n{}", st.sigma_z[i]));
            for c in row {
                b.push('\t');
                b.push_str(&point_label(c, digits, st.seeds.len()));
            }
        }
        b
    };
    out.push_str(&block(
        &format!(
            "slow-mode share at initialisation (|λ| > 1 − {})",
            st.fit.slow_epsilon
        ),
        &s.slow_share_init,
        3,
    ));
    out.push_str(&block(
        &format!(
            "epochs to test accuracy {} (seeds that reached it)",
            st.fit.target_accuracy
        ),
        &s.epochs_to_target,
        1,
    ));
    out.push_str(&block("final test accuracy", &s.final_accuracy, 3));
    out.push_str("\n\nregions (mean-field theory) by σ_h:");
    for (h, r) in st.sigma_h.iter().zip(&s.regions) {
        out.push_str(&format!(" {h}: {};", region_name(*r)));
    }
    if !s.failed.is_empty() {
        out.push_str(&format!(
            "\n\n{} of {} jobs failed (the statistics above leave them out):",
            s.failed.len(),
            s.jobs.len()
        ));
        const SHOWN: usize = 8;
        for &i in s.failed.iter().take(SHOWN) {
            let j = &s.jobs[i];
            out.push_str(&format!(
                "\n  job {i} (σ_z {}, σ_h {}, seed {}): {}",
                j.sigma_z,
                j.sigma_h,
                j.seed,
                j.failure.as_deref().unwrap_or_default()
            ));
        }
        if s.failed.len() > SHOWN {
            out.push_str(&format!("\n  … and {} more", s.failed.len() - SHOWN));
        }
    }
    out
}

fn draw(dir: &Path, ext: &str, s: &Sweep) -> Result<(), HostError> {
    let st = &s.settings;
    let maps: [(&str, &str, &[Vec<SeedStats>], usize); 3] = [
        (
            "slow_share_init",
            "slow-mode share at initialisation",
            &s.slow_share_init,
            3,
        ),
        (
            "epochs_to_target",
            "epochs to the target accuracy",
            &s.epochs_to_target,
            1,
        ),
        (
            "final_accuracy",
            "final test accuracy",
            &s.final_accuracy,
            3,
        ),
    ];
    let subtitle = format!(
        "{} T={}, GRU N={}, σ_r={}, {} seeds",
        st.task,
        st.length,
        st.n,
        st.sigma_r,
        st.seeds.len()
    );
    for (file, desc, grid, digits) in maps {
        let values = grid
            .iter()
            .map(|row| {
                row.iter()
                    .map(|c| (c.mean, point_label(c, digits, st.seeds.len())))
                    .collect()
            })
            .collect();
        plot::heat_map(
            &dir.join(format!("{file}.{ext}")),
            &plot::HeatMap {
                title: &format!("{desc}: {subtitle}"),
                x_desc: "σ_h",
                xs: &st.sigma_h,
                y_desc: "σ_z",
                ys: &st.sigma_z,
                values,
                value_desc: desc,
                line_at: Some((2.0, "σ_h = 2: zero fixed point loses stability")),
                regions: s.regions.clone(),
            },
        )?;
    }
    Ok(())
}

/// Quotes a word for a POSIX shell.
fn quote(w: &str) -> String {
    if !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=,:+".contains(c))
    {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

/// Writes the Slurm array script: the command line of this run without
/// the flags that choose what to write, plus `--shard` and `--lines` per
/// array task, and the merge to run afterwards.
fn emit_slurm(a: &TrainSweepArgs, path: &Path, st: &SweepSettings) -> Result<(), HostError> {
    let jobs = st.jobs();
    let tasks = a.array.unwrap_or(jobs.min(MAX_ARRAY)).min(jobs);
    // the flags given, minus those that pick outputs (they take a value)
    let drop_with_value = [
        "--emit-slurm",
        "--array",
        "--report",
        "--lines",
        "--json",
        "--format",
    ];
    let mut kept = vec![];
    // the binary and `train-sweep`; every word goes into a shell script:
    // UTF-8 without control characters only (a newline in a file name
    // would end the line)
    let words: Vec<String> = std::env::args_os()
        .skip(2)
        .map(|w| match w.to_str() {
            Some(s) if !s.chars().any(char::is_control) => Ok(s.to_string()),
            _ => Err(HostError::BadInput(format!(
                "--emit-slurm: the argument {w:?} is not UTF-8 text without control characters, so it cannot go into a Slurm script; rename the file"
            ))),
        })
        .collect::<Result<_, _>>()?;
    let mut args = words.into_iter();
    while let Some(w) = args.next() {
        let flag = w.split('=').next().unwrap_or_default().to_string();
        if drop_with_value.contains(&flag.as_str()) {
            if !w.contains('=') {
                args.next();
            }
            continue;
        }
        // the script adds both to every task
        if w == "--quiet" || w == "--resume" {
            continue;
        }
        kept.push(quote(&w));
    }
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "gatedyn".into());
    if exe.chars().any(char::is_control) {
        return Err(HostError::BadInput(format!(
            "--emit-slurm: the path of gatedyn itself ({exe:?}) holds a control character and cannot go into a script"
        )));
    }
    let per_task = jobs.div_ceil(tasks);
    let script = format!(
        r#"#!/bin/bash
# gatedyn train-sweep as a Slurm job array, written by gatedyn {version}.
# {jobs} jobs ({nz} σ_z × {nh} σ_h × {ns} seeds) in {tasks} array tasks of at
# most {per_task} jobs each; each task writes shards/shard-K.jsonl, a line
# per job as it finishes. A task that runs again (requeued, or resubmitted
# with sbatch --array=K) keeps the jobs already in its file.
#
# Submit from the folder that should hold the shards:
#     sbatch {script_name}
# When every task has finished, assemble the heat maps:
#     {exe} train-sweep --merge shards/shard-*.jsonl --report train-sweep-report
#SBATCH --job-name=gatedyn-sweep
#SBATCH --array=1-{tasks}
#SBATCH --cpus-per-task=2
#SBATCH --output=gatedyn-sweep-%A_%a.out
set -euo pipefail
mkdir -p shards
export RAYON_NUM_THREADS="${{SLURM_CPUS_PER_TASK:-2}}"
{exe} train-sweep {flags} \
    --shard "${{SLURM_ARRAY_TASK_ID}}/{tasks}" \
    --lines "shards/shard-${{SLURM_ARRAY_TASK_ID}}.jsonl" --resume --quiet
"#,
        version = env!("CARGO_PKG_VERSION"),
        nz = st.sigma_z.len(),
        nh = st.sigma_h.len(),
        ns = st.seeds.len(),
        script_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        exe = quote(&exe),
        flags = kept.join(" "),
    );
    output::write_atomic(path, &script)?;
    output::write_stdout(&format!(
        "wrote {}: {jobs} jobs in a Slurm array of {tasks} tasks (sbatch {})",
        path.display(),
        path.display()
    ))
}
