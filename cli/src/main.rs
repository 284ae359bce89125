//! The `gatedyn` command-line tool: one module per subcommand in `cli/`.
//!
//! Exit status: 0 success, 1 a `validate` check failed, 2 bad input
//! (arguments or files; the one line names the flag or file), 3 a numerical
//! or I/O failure ([`gatedyn_host::exit_status`]).

mod commands;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use gatedyn_host::exit_status;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "gatedyn",
    version,
    about = "GRUs and LSTMs as dynamical systems: Jacobian spectra of random and trained networks against the large-N theory",
    after_help = "Exit status: 0 success, 1 a validate check failed, 2 bad input, 3 a numerical or I/O failure."
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Simulate, take the Jacobian, compute all eigenvalues (or the radius,
    /// matrix-free) and the predicted support.
    Spectrum {
        #[command(subcommand)]
        cell: commands::spectrum::SpectrumCmd,
    },
    /// Mean-field fixed point of a random GRU.
    Mft {
        #[command(subcommand)]
        cell: commands::mft::MftCmd,
    },
    /// The GRU phase diagram over (σ_h, σ_r) from the mean-field theory.
    PhaseDiagram(commands::phase_diagram::PhaseDiagramArgs),
    /// Spectral radius (empirical and predicted) against one gate scale.
    Scaling(commands::scaling::ScalingArgs),
    /// Eigenvalues piling up at λ = 1 as σ_z (GRU) or σ_f (LSTM) grows.
    SlowModes(commands::slow_modes::SlowModesArgs),
    /// Fixed points of a random GRU (Levenberg–Marquardt from trajectory states).
    FixedPoints {
        #[command(subcommand)]
        cell: commands::fixed_points::FixedPointCmd,
    },
    /// The largest Lyapunov exponents of a trajectory (chaos: λ₁ > 0).
    Lyapunov {
        #[command(subcommand)]
        cell: commands::lyapunov::LyapunovCmd,
    },
    /// Run a trained model (ONNX, PyTorch safetensors or Keras) on an input
    /// sequence and write its hidden states.
    Run(commands::run::RunArgs),
    /// What int8 or int16 arithmetic does to a trained GRU or LSTM along
    /// its inputs: state errors, slow modes, frozen units, the dead zone
    /// and the autonomous map.
    Quantize(commands::quantize::QuantizeArgs),
    /// A trained model along its inputs: Jacobian spectra, slow modes,
    /// timescales, gate statistics, and its place against the theory.
    Analyze(commands::analyze::AnalyzeArgs),
    /// Write a trained model as Rust source with a `static` network for
    /// firmware (weights in flash, no parsing at run time).
    Export(commands::export::ExportArgs),
    /// The validation battery: pass/fail table, report folder with figures.
    Validate(commands::validate::ValidateArgs),
    /// The critical reset scale σ_r*(σ_h) for √2 < σ_h < 2.
    Bifurcation(commands::bifurcation::BifurcationArgs),
    /// Phase-space complexity: fixed-point counts and the largest Lyapunov
    /// exponent from small and large states across σ_r (and σ_h).
    Complexity(commands::complexity::ComplexityArgs),
    /// The long-term Jacobian at the zero fixed point: mean squared
    /// singular value of J^T against the large-N theory.
    LongTerm(commands::long_term::LongTermArgs),
    /// Train a GRU or LSTM (BPTT, Adam) on the adding, copy or sequential
    /// MNIST task from the mean-field scales or a model, watching the
    /// Jacobian's spectrum move.
    Train(Box<commands::train::TrainArgs>),
    /// The paper's Fig. 4: training over a σ_z × σ_h grid (heat maps of
    /// slow modes, epochs to target, final accuracy), in one process, as
    /// shards, merged, or as a Slurm job array.
    TrainSweep(Box<commands::train_sweep::TrainSweepArgs>),
}

fn main() -> ExitCode {
    let parsed = command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => {
            use clap::error::{ContextKind, ContextValue, ErrorKind};
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            let line = match e.kind() {
                // `gatedyn` or `gatedyn lyapunov` alone: name what may follow
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                | ErrorKind::MissingSubcommand => {
                    let (path, names) = missing_subcommand();
                    format!("{path} needs a subcommand: {}", names.join(", "))
                }
                // name the missing flags
                ErrorKind::MissingRequiredArgument => match e.get(ContextKind::InvalidArg) {
                    Some(ContextValue::Strings(args)) => {
                        format!("missing {}", args.join(", "))
                    }
                    _ => "a required argument is missing".into(),
                },
                _ => {
                    // one line: clap's first line, without the usage block
                    let text = e.render().to_string();
                    let first = text.lines().next().unwrap_or("invalid arguments");
                    first.strip_prefix("error: ").unwrap_or(first).to_string()
                }
            };
            eprintln!("error: {} (see --help)", one_line(&line));
            return ExitCode::from(exit_status::BAD_INPUT);
        }
    };
    let r = match cli.cmd {
        Cmd::Spectrum { cell } => commands::spectrum::run(cell),
        Cmd::Mft { cell } => commands::mft::run(cell),
        Cmd::PhaseDiagram(a) => commands::phase_diagram::run(a),
        Cmd::Scaling(a) => commands::scaling::run(a),
        Cmd::SlowModes(a) => commands::slow_modes::run(a),
        Cmd::FixedPoints { cell } => commands::fixed_points::run(cell),
        Cmd::Lyapunov { cell } => commands::lyapunov::run(cell),
        Cmd::Run(a) => commands::run::run(a),
        Cmd::Analyze(a) => commands::analyze::run(a),
        Cmd::Quantize(a) => commands::quantize::run(a),
        Cmd::Export(a) => commands::export::run(a),
        Cmd::Validate(a) => commands::validate::run(a),
        Cmd::Bifurcation(a) => commands::bifurcation::run(a),
        Cmd::Complexity(a) => commands::complexity::run(a),
        Cmd::LongTerm(a) => commands::long_term::run(a),
        Cmd::Train(a) => commands::train::run(*a),
        Cmd::TrainSweep(a) => commands::train_sweep::run(*a),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&commands::args::describe(&e)));
            ExitCode::from(e.exit_status())
        }
    }
}

/// The command line's grammar, negative numbers accepted as values at every
/// level (`--bias-h -1` and `--every -1` reach their flag's check, which
/// names the flag).
fn command() -> clap::Command {
    fn negative_numbers(c: clap::Command) -> clap::Command {
        let names: Vec<String> = c
            .get_subcommands()
            .map(|s| s.get_name().to_string())
            .collect();
        let mut c = c.allow_negative_numbers(true);
        for name in names {
            c = c.mut_subcommand(name, negative_numbers);
        }
        c
    }
    negative_numbers(Cli::command())
}

/// The deepest subcommand the arguments name, and the subcommands it takes.
fn missing_subcommand() -> (String, Vec<String>) {
    let mut c = Cli::command();
    let mut path = vec!["gatedyn".to_string()];
    for word in std::env::args().skip(1) {
        match c.find_subcommand(&word) {
            Some(s) => {
                path.push(word);
                c = s.clone();
            }
            None => break,
        }
    }
    let names = c
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    (path.join(" "), names)
}

/// A message on one line: control characters (a newline in a file name)
/// written as escapes.
fn one_line(message: &str) -> String {
    message
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}
