//! What a run may ask for: memory against what the machine (and `ulimit
//! -v`) allows, and the bounds of the numeric flags. Checked before any
//! large allocation or long loop, so that an impossible request ends at
//! once with one line naming the flag.

use crate::HostError;
use crate::Param;

/// Largest gate or bias scale the CLI takes. Far beyond any regime of
/// interest (a binary gate is reached at `σ ≈ 1e3`; `validate` uses `1e8`),
/// and small enough that `σ²` sums, the support and the mean-field theory
/// stay finite in `f64` and the `f32` matrix-free weights do not overflow.
pub const MAX_SCALE: f64 = 1e9;

/// Largest number of simulated steps (`Param::Steps`): 1e7 steps of even a
/// 10-unit network take minutes; anything above is a typing error.
pub const MAX_STEPS: usize = 10_000_000;

/// Largest number of fixed-point starts (`Param::Starts`).
pub const MAX_STARTS: usize = 100_000;

/// Largest Levenberg–Marquardt iteration budget per start (`Param::MaxIter`).
pub const MAX_LM_ITERATIONS: usize = 100_000;

/// Largest budget of Jacobian-vector products (`Param::MaxProducts`).
pub const MAX_PRODUCTS: usize = 10_000_000;

/// Largest grid of the phase diagram per axis (`Param::Points`).
pub const MAX_POINTS: usize = 10_000;

/// Largest number of swept values (`Param::Values`).
pub const MAX_VALUES: usize = 1000;

/// `MemAvailable` from /proc/meminfo, in bytes (Linux).
pub fn available_memory() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = s.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

/// The soft address-space limit (`ulimit -v`) from /proc/self/limits, in
/// bytes; `None` when unlimited or unknown.
pub fn address_space_limit() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_address_space_limit(&s)
}

fn parse_address_space_limit(limits: &str) -> Option<u64> {
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max address space"))?;
    // "Max address space   <soft>   <hard>   bytes"
    let soft = line["Max address space".len()..]
        .split_whitespace()
        .next()?;
    soft.parse().ok()
}

/// The bytes this process may still allocate: the smaller of the available
/// memory and the address-space limit less what the process already maps.
pub fn allocatable() -> Option<u64> {
    let avail = available_memory();
    let limit = address_space_limit().map(|l| l.saturating_sub(mapped_bytes().unwrap_or(0)));
    match (avail, limit) {
        (Some(a), Some(l)) => Some(a.min(l)),
        (a, l) => a.or(l),
    }
}

/// The virtual memory the process maps now (`VmSize` of /proc/self/status).
fn mapped_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmSize:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

/// Errors unless `need` bytes can be allocated; the message names `flag`
/// with its value and both sizes.
pub fn check_memory(param: Param, value: usize, need: u128) -> Result<(), HostError> {
    let gib = |b: f64| b / (1u64 << 30) as f64;
    // beyond any machine: also the guard against size arithmetic overflow
    if need > (1u128 << 60) {
        return Err(HostError::invalid(
            param,
            format!(
                " {value} needs about {:.3e} GiB: too large for any machine",
                gib(need as f64)
            ),
        ));
    }
    if let Some(avail) = allocatable() {
        if need > avail as u128 {
            return Err(HostError::invalid(
                param,
                format!(
                " {value} needs about {:.1} GiB, more than the {:.1} GiB this process may allocate",
                gib(need as f64),
                gib(avail as f64)
            ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_space_limit_is_parsed() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max cpu time              unlimited            unlimited            seconds   \n\
                    Max address space         12884901888          unlimited            bytes     \n";
        assert_eq!(parse_address_space_limit(text), Some(12_884_901_888));
        let unlimited =
            "Max address space         unlimited            unlimited            bytes\n";
        assert_eq!(parse_address_space_limit(unlimited), None);
    }

    #[test]
    fn impossible_sizes_are_refused_with_the_flag() {
        let e = check_memory(Param::N, 1_000_000_000_000, u128::MAX).unwrap_err();
        assert!(
            matches!(&e, HostError::Invalid { param: Param::N, message } if message.starts_with(" 1000000000000 needs about") && message.ends_with("too large for any machine")),
            "{e}"
        );
        assert!(check_memory(Param::N, 10, 1 << 20).is_ok());
    }
}
