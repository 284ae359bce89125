//! The dense eigen-solve of a GRU Jacobian with faer against
//! `numpy.linalg.eigvals` on the same matrix, in one run.
//!
//! `cargo run --release -p gatedyn-host --example eigen_vs_numpy -- [N]`
//! (default N = 2000; needs python3 with numpy). The matrix is written to a
//! temporary file; five rounds alternate one faer solve and one numpy solve
//! (so that the machine's slow phases hit both sides alike), and the ratios
//! faer/numpy of the best and of the median times are printed. OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed
//! from numpy's environment (they slow a current OpenBLAS; see the machine
//! notes), and numpy's BLAS is reported with threadpoolctl when available.

use gatedyn::init::GruScales;
use gatedyn::Activation;
use gatedyn_host::linalg::eigen::{eigenvalues, jacobian, max_modulus};
use gatedyn_host::net::{Net, Scales};
use std::io::Write;
use std::process::Command;
use std::time::Instant;

const NUMPY: &str = r#"
import sys, time, numpy as np
n, path = int(sys.argv[1]), sys.argv[2]
a = np.fromfile(path, dtype='<f8').reshape(n, n)
t = time.perf_counter(); ev = np.linalg.eigvals(a); best = time.perf_counter() - t
try:
    import threadpoolctl
    info = threadpoolctl.threadpool_info()
    blas = ', '.join(f"{i['internal_api']} {i.get('version')} {i.get('architecture')} threads={i['num_threads']}" for i in info)
except Exception:
    blas = 'unknown'
print(best, np.abs(ev).max(), blas)
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(2000);
    let s = Scales::Gru(GruScales::recurrent(1.0, 1.0, 3.0));
    let mut net = Net::random(n, s, Activation::Tanh, 7)?;
    net.run(100, || {})?;
    let j = jacobian(&net)?;
    let path = std::env::temp_dir().join(format!("gatedyn-eig-{n}-{}.f64", std::process::id()));
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
    for i in 0..n {
        for k in 0..n {
            f.write_all(&j[(i, k)].to_le_bytes())?;
        }
    }
    f.flush()?;
    drop(f);

    const ROUNDS: usize = 5;
    let (mut faer_t, mut numpy_t) = (Vec::new(), Vec::new());
    let mut radius = 0.0;
    let mut np_radius = 0.0;
    let mut blas = String::new();
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let ev = eigenvalues(&j)?;
        faer_t.push(t.elapsed().as_secs_f64());
        radius = max_modulus(&ev);
        let out = Command::new("python3")
            .args(["-c", NUMPY, &n.to_string(), path.to_str().ok_or("path")?])
            .env_remove("OPENBLAS_CORETYPE")
            .env_remove("OPENBLAS_L2_SIZE")
            .output()?;
        if !out.status.success() {
            std::fs::remove_file(&path).ok();
            return Err(format!(
                "numpy side failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut parts = text.trim().splitn(3, ' ');
        numpy_t.push(parts.next().ok_or("no time")?.parse()?);
        np_radius = parts.next().ok_or("no radius")?.parse()?;
        blas = parts.next().unwrap_or("").to_string();
    }
    std::fs::remove_file(&path).ok();
    let (fb, fm) = best_and_median(&mut faer_t);
    let (nb, nm) = best_and_median(&mut numpy_t);
    println!(
        "N = {n}, {ROUNDS} alternating rounds: faer best {fb:.3} s, median {fm:.3} s (threads: {}); numpy best {nb:.3} s, median {nm:.3} s ({blas})",
        rayon_threads()
    );
    println!(
        "ratio faer/numpy: best {:.2}, median {:.2}",
        fb / nb,
        fm / nm
    );
    println!(
        "spectral radius: faer {radius:.12}, numpy {np_radius:.12} (rel diff {:.1e})",
        (radius - np_radius).abs() / np_radius
    );
    Ok(())
}

fn best_and_median(t: &mut [f64]) -> (f64, f64) {
    t.sort_by(f64::total_cmp);
    (t[0], t[t.len() / 2])
}
fn rayon_threads() -> String {
    format!("{:?}", faer::get_global_parallelism())
}
