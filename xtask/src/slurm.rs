//! `cargo xtask slurm`: one small `gatedyn train-sweep` through a real
//! single-node Slurm (Debian's `slurm-wlm`, installed here through apt-get
//! when missing; `munged`, `slurmctld` and `slurmd` in the foreground with a
//! configuration of their own under `target/slurm-check`), merged, and
//! compared with the same sweep in one process. Needs root (the daemons run
//! as root); elsewhere it says so and goes on.

use super::{output, run};
use crate::firmware::root;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// The sweep: 8 jobs of a few hundred milliseconds.
const GRID: [&str; 20] = [
    "train-sweep",
    "--length",
    "10",
    "--n",
    "8",
    "--epochs",
    "2",
    "--train-size",
    "64",
    "--test-size",
    "16",
    "--batch",
    "16",
    "--sigma-z-values",
    "0.5,2",
    "--sigma-h-values",
    "1,2.5",
    "--seeds",
    "2",
    "--quiet",
];

/// The daemons, stopped when dropped.
struct Daemons(Vec<Child>);

impl Drop for Daemons {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn spawn(dir: &Path, name: &str, cmd: &mut Command) -> Result<Child, String> {
    let log = std::fs::File::create(dir.join(format!("{name}.log")))
        .map_err(|e| format!("slurm: cannot write {name}.log: {e}"))?;
    let err = log
        .try_clone()
        .map_err(|e| format!("slurm: {name}.log: {e}"))?;
    cmd.stdout(log)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("slurm: cannot start {name}: {e}"))
}

/// The table `gatedyn train-sweep` prints, without its first line (which
/// has the seconds of training).
fn table_body(text: &str) -> String {
    text.lines().skip(1).collect::<Vec<_>>().join("\n")
}

pub fn slurm() -> Result<(), String> {
    let root_user = output(Command::new("id").arg("-u")).is_some_and(|u| u.trim() == "0");
    if !root_user {
        eprintln!("\n==> Slurm sweep skipped: the single-node Slurm daemons need root here");
        return Ok(());
    }
    // `sbatch --version` fails without a configuration; the daemon's does not
    if output(Command::new("slurmctld").arg("-V")).is_none() {
        if output(Command::new("apt-get").arg("--version")).is_none() {
            eprintln!("\n==> Slurm sweep skipped: no sbatch and no apt-get to install slurm-wlm");
            return Ok(());
        }
        run(
            "apt-get update",
            Command::new("apt-get").args(["update", "-qq"]),
        )?;
        run(
            "install slurm-wlm (single-node Slurm)",
            Command::new("apt-get")
                .args([
                    "install",
                    "-y",
                    "-qq",
                    "--no-install-recommends",
                    "slurm-wlm",
                ])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
    }
    let gatedyn = super::gatedyn_binary()?;
    let dir = root().join("target/slurm-check");
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["state", "spool", "work"] {
        std::fs::create_dir_all(dir.join(sub)).map_err(|e| format!("slurm: {e}"))?;
    }
    let host = output(Command::new("hostname").arg("-s"))
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .ok_or("slurm: no host name")?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let d = dir.display();
    let conf = format!(
        "ClusterName=gatedyn\nSlurmctldHost={host}\nSlurmUser=root\nSlurmdUser=root\n\
AuthType=auth/munge\nStateSaveLocation={d}/state\nSlurmdSpoolDir={d}/spool\n\
SlurmctldPidFile={d}/slurmctld.pid\nSlurmdPidFile={d}/slurmd.pid\n\
ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nJobAcctGatherType=jobacct_gather/none\n\
SelectType=select/cons_tres\nSelectTypeParameters=CR_Core\nReturnToService=2\nMpiDefault=none\n\
NodeName={host} CPUs={cpus} State=UNKNOWN\n\
PartitionName=check Nodes={host} Default=YES MaxTime=INFINITE State=UP\n"
    );
    let conf_path = dir.join("slurm.conf");
    std::fs::write(&conf_path, conf).map_err(|e| format!("slurm: {e}"))?;
    // munged: the package's key; one instance is enough (an already
    // running one is fine)
    let _ = std::fs::create_dir_all("/run/munge");
    if output(Command::new("munge").arg("-n")).is_none() {
        run("start munged", Command::new("munged").arg("--force"))?;
    }
    let mut daemons = Daemons(vec![]);
    for name in ["slurmctld", "slurmd"] {
        daemons.0.push(spawn(
            &dir,
            name,
            Command::new(name)
                .args(["-D", "-f"])
                .arg(&conf_path)
                .env("SLURM_CONF", &conf_path),
        )?);
    }
    let t0 = Instant::now();
    loop {
        let state = output(
            Command::new("sinfo")
                .args(["-h", "-o", "%t"])
                .env("SLURM_CONF", &conf_path),
        )
        .unwrap_or_default();
        if state.trim() == "idle" {
            break;
        }
        if t0.elapsed() > Duration::from_secs(60) {
            return Err(format!(
                "slurm: the node is not idle after 60 s (sinfo: {:?}); see {d}/slurmctld.log and slurmd.log",
                state.trim()
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let work = dir.join("work");
    let mut emit = Command::new(&gatedyn);
    emit.current_dir(&work)
        .args(GRID)
        .args(["--array", "3", "--emit-slurm", "sweep.sbatch"]);
    run("write the Slurm job array", &mut emit)?;
    run(
        "sbatch --wait (3 array tasks)",
        Command::new("timeout")
            .args(["600", "sbatch", "--wait", "sweep.sbatch"])
            .current_dir(&work)
            .env("SLURM_CONF", &conf_path),
    )?;
    let merged = output(Command::new(&gatedyn).current_dir(&work).args([
        "train-sweep",
        "--merge",
        "shards/shard-1.jsonl",
        "shards/shard-2.jsonl",
        "shards/shard-3.jsonl",
        "--quiet",
    ]))
    .ok_or("slurm: merging the shards failed")?;
    let single = output(Command::new(&gatedyn).current_dir(&work).args(GRID))
        .ok_or("slurm: the single-process sweep failed")?;
    drop(daemons);
    if table_body(&merged) != table_body(&single) {
        return Err(format!(
            "slurm: the merged Slurm sweep differs from the single-process one:\n{merged}\n---\n{single}"
        ));
    }
    eprintln!(
        "    the Slurm sweep (8 jobs in 3 array tasks) merged equals the single-process sweep ({:.0} s with the daemons' start)",
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
