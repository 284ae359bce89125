//! The committed fuzz corpus (fuzz/corpus: the seeds and what the long
//! runs kept, minimised) replayed on the stable toolchain: every reader
//! returns on every input, as under `cargo fuzz`. What each target runs is
//! fuzz/targets.rs, shared with the fuzz targets.

#[path = "../../fuzz/targets.rs"]
mod targets;

use std::path::PathBuf;

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

#[test]
fn every_target_has_its_file_and_a_corpus() {
    // `cargo xtask fuzz` takes its list from the files: they must be these
    let mut files: Vec<String> = std::fs::read_dir(fuzz_dir().join("fuzz_targets"))
        .unwrap()
        .map(|f| f.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let mut names: Vec<String> = targets::TARGETS.iter().map(|t| format!("{t}.rs")).collect();
    names.sort();
    assert_eq!(files, names);
    for t in targets::TARGETS {
        let target = fuzz_dir().join(format!("fuzz_targets/{t}.rs"));
        let text = std::fs::read_to_string(&target).unwrap_or_else(|e| panic!("{t}: {e}"));
        assert!(
            text.contains(&format!("targets::run(\"{t}\", data)")),
            "{t}"
        );
        let corpus = fuzz_dir().join("corpus").join(t);
        let seeds = std::fs::read_dir(&corpus)
            .unwrap_or_else(|e| panic!("{}: {e}", corpus.display()))
            .filter(|f| {
                f.as_ref()
                    .is_ok_and(|f| f.file_name().to_string_lossy().starts_with("seed-"))
            })
            .count();
        assert!(seeds >= 1, "{t}: no seed in {}", corpus.display());
    }
}

#[test]
fn the_committed_corpus_replays_on_stable() {
    let mut total = 0;
    for t in targets::TARGETS {
        let corpus = fuzz_dir().join("corpus").join(t);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&corpus)
            .unwrap()
            .map(|f| f.unwrap().path())
            .collect();
        files.sort();
        for f in &files {
            let data = std::fs::read(f).unwrap();
            targets::run(t, &data);
        }
        total += files.len();
    }
    assert!(total >= targets::TARGETS.len());
}
