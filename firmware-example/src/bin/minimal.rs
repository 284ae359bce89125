//! The minimal gatedyn firmware: principled initialisation, GRU steps and
//! the on-device spectral radius, nothing else (no mean-field
//! classification, no spectral curve, no LSTM). Built for two targets:
//!
//! * Cortex-M4F (`thumbv7em-none-eabihf`, MPS2-AN386 under QEMU): N = 32;
//!   its flash and stack are the footprint a firmware engineer pays for
//!   "run a GRU and watch its stability".
//! * Cortex-M0 (`thumbv6m-none-eabi`, BBC micro:bit under QEMU, 16 KB RAM,
//!   soft-float `f32`): N = 16.
//!
//! It prints instructions per step and per `J v` (SysTick, calibrated
//! against a loop of known length), its stack high-water mark, and
//! `PARITY` lines that `cargo xtask firmware` compares with the host.
#![no_std]
#![no_main]

#[path = "../board.rs"]
mod board;
#[path = "../minimal_scenario.rs"]
mod minimal_scenario;

use board::{calibrate, fail, paint_stack, stack_high_water, start_clock, ticks};
use cortex_m_rt::entry;
use defmt_semihosting as _;
use gatedyn::{Gru, GruTrace};
use minimal_scenario::{drive, run_minimal};

/// Hidden size: 32 on the Cortex-M4F, 16 on the Cortex-M0 (16 KB of RAM).
#[cfg(target_has_atomic = "32")]
const N: usize = 32;
#[cfg(not(target_has_atomic = "32"))]
const N: usize = 16;

/// The core's name, for the report.
#[cfg(target_has_atomic = "32")]
const CORE: &str = "cortex-m4f";
#[cfg(not(target_has_atomic = "32"))]
const CORE: &str = "cortex-m0";

/// The network, in `.bss`.
static mut NET: Gru<f32, N, 1> = Gru::zeroed();

#[entry]
fn main() -> ! {
    paint_stack();
    start_clock();

    let (_, per_tick) = calibrate(200_000);
    let instr = |t: u64| t as f32 * per_tick;
    defmt::println!(
        "MINIMAL core={=str} N={=usize}: calibration {=f32} instructions per SysTick tick",
        CORE,
        N,
        per_tick
    );

    // SAFETY: the only borrow of NET, on the only thread.
    let net = unsafe { &mut *core::ptr::addr_of_mut!(NET) };
    let t0 = ticks();
    let report = run_minimal(net).unwrap_or_else(|_| fail("minimal scenario returned an error"));
    let t_all = instr(ticks() - t0);

    let reps = 50u32;
    let mut h = [0.1f32; N];
    let mut t = GruTrace::zeroed();
    let t0 = ticks();
    for k in 0..reps {
        if net.step_traced(&h, &[drive(k as usize)], &mut t).is_err() {
            fail("GRU step");
        }
        h = t.next;
    }
    let step = instr(ticks() - t0) / reps as f32;
    let (mut v, mut out) = ([0.5f32; N], [0.0f32; N]);
    let t0 = ticks();
    for _ in 0..reps {
        if net.jvp(&h, &t, &v, &mut out).is_err() {
            fail("GRU jvp");
        }
        v[0] = out[0] * 0.5;
    }
    let jvp = instr(ticks() - t0) / reps as f32;
    defmt::println!(
        "MINIMAL core={=str} N={=usize}: sigma_h={=f64} radius={=f64} (products {=usize}, err {=f64}); scenario {=f32} instructions; step {=f32} ({=f32} per MAC); J v {=f32} ({=f32} per MAC)",
        CORE,
        N,
        report.sigma_h,
        report.radius.radius,
        report.radius.products,
        report.radius.residual,
        t_all,
        step,
        step / (3 * (N * N + N)) as f32,
        jvp,
        jvp / (3 * N * N) as f32
    );
    minimal_scenario::minimal_parity_lines(&report, |name, bits, value| {
        defmt::println!(
            "PARITY minimal{=usize}.{=str}={=u64:x} ({=f64})",
            N,
            name,
            bits,
            value
        );
    });
    if !(report.radius.residual <= 1e-5 && report.radius.radius > 0.3 && report.radius.radius < 2.0)
    {
        fail("spectral radius not converged or implausible");
    }
    defmt::println!("STACK high-water mark {=usize} bytes", stack_high_water());
    defmt::println!("ALL CHECKS PASSED");
    semihosting::process::exit(0)
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    defmt::error!("panic");
    semihosting::process::exit(101)
}
