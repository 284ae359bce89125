//! gatedyn on a Cortex-M4F (MPS2-AN386 under QEMU): a GRU reservoir and an
//! LSTM, initialised on the device at the edge of stability, driven by a
//! sine; the device then measures its own Jacobian spectral radius
//! (matrix-free), the radius the theory predicts from its state, and the
//! mean-field values, and counts instructions per step and per `J v`.
//!
//! Everything lives on the stack or in flash: no heap. Logging is defmt
//! over semihosting; the program exits through semihosting with success
//! only when its own checks pass.
#![no_std]
#![no_main]

mod board;
mod scenario;
mod speed;
mod trained;
#[rustfmt::skip]
mod trained_model;

use board::{calibrate, fail, paint_stack, stack_high_water, start_clock, ticks};
use cortex_m_rt::entry;
use defmt_semihosting as _;
use gatedyn::spectral_radius::SpectralRadius;
#[cfg(feature = "c-baseline")]
use gatedyn::GruForm;
use gatedyn::{Gru, GruTrace, Lstm, LstmTrace};
use scenario::{GRU_N, KRYLOV, LSTM_N};

#[entry]
fn main() -> ! {
    paint_stack();
    start_clock();

    let variant = if cfg!(feature = "fast-activations") {
        "fast"
    } else if cfg!(feature = "micromath") {
        "micromath"
    } else {
        "libm"
    };
    defmt::println!("gatedyn firmware example, activations: {=str}", variant);

    // Calibration: 2·10⁶ instructions of known length.
    let n = 1_000_000u32;
    let (dt, per_tick) = calibrate(n);
    defmt::println!(
        "CAL loop of {=u32} instructions took {=u64} ticks: {=f32} instructions per tick",
        2 * n,
        dt,
        per_tick
    );
    if !(38.0..=42.0).contains(&per_tick) {
        fail("SysTick calibration: expected 40 instructions per tick");
    }
    let instr = |t: u64| t as f32 * per_tick;

    let t0 = ticks();
    let mft = scenario::DeviceMft::with_averages(gatedyn::field_table::TableAverages::new());
    let t_mft = ticks() - t0;
    let mut est: SpectralRadius<KRYLOV> = SpectralRadius::new();

    // ---- GRU scenario
    let mut gru: Gru<f32, GRU_N, 1> = Gru::zeroed();
    defmt::println!(
        "STAGE flash tables (TableAverages::new): {=f32} instructions",
        instr(t_mft)
    );
    let t0 = ticks();
    let g = scenario::run_gru(&mft, &mut gru, &mut est, &mut stages("GRU", &instr))
        .unwrap_or_else(|_| fail("GRU scenario returned an error"));
    let t_gru = ticks() - t0;
    defmt::println!(
        "GRU N={=usize}: sigma_h={=f64} radius={=f64} (products {=usize}, restarts {=usize}, err {=f64}) predicted={=f64} zero_level={=f64} region={} bifurcation sigma_r*={=f64}",
        GRU_N, g.sigma_h, g.radius.radius, g.radius.products, g.radius.restarts, g.radius.residual, g.predicted, g.zero_level, g.region, g.bifurcation
    );

    // ---- chaos monitor: the largest Lyapunov exponent, k = 1
    let t0 = ticks();
    let (lambda, lambda_err) =
        scenario::chaos_monitor(&gru).unwrap_or_else(|_| fail("chaos monitor returned an error"));
    let t_monitor = ticks() - t0;
    let monitor_steps = scenario::MONITOR_TRANSIENT + scenario::MONITOR_STEPS;
    defmt::println!(
        "LYAPUNOV k=1 GRU N={=usize}: lambda_max={=f64} +- {=f64} per step over {=usize} steps ({=usize} transient); {=f32} instructions per step (step + J v + renormalisation)",
        GRU_N,
        lambda,
        lambda_err,
        scenario::MONITOR_STEPS,
        scenario::MONITOR_TRANSIENT,
        instr(t_monitor) / monitor_steps as f32
    );

    // ---- LSTM scenario
    let mut lstm: Lstm<f32, LSTM_N, 1> = Lstm::zeroed();
    let t0 = ticks();
    let l = scenario::run_lstm(&mft, &mut lstm, &mut est, &mut stages("LSTM", &instr))
        .unwrap_or_else(|_| fail("LSTM scenario returned an error"));
    let t_lstm = ticks() - t0;
    defmt::println!(
        "LSTM N={=usize}: sigma_c={=f64} radius={=f64} (products {=usize}) predicted={=f64} zero_level={=f64}",
        LSTM_N, l.sigma_c, l.radius.radius, l.radius.products, l.predicted, l.zero_level
    );

    // ---- an exported trained model (weights in flash)
    let t0 = ticks();
    let tr = trained::run_trained(&mut est)
        .unwrap_or_else(|_| fail("exported-model scenario returned an error"));
    let t_trained = ticks() - t0;
    defmt::println!(
        "TRAINED reset-after GRU N={=usize} I={=usize} from gatedyn export: {=usize} steps, readout={}, radius={=f64} (products {=usize}, err {=f64}), {=f32} instructions",
        trained_model::N,
        trained_model::INPUTS,
        trained::TRAINED_STEPS,
        tr.readout,
        tr.radius.radius,
        tr.radius.products,
        tr.radius.residual,
        instr(t_trained)
    );

    // ---- instruction counts
    let reps = 100u32;
    let mut h = [0.1f32; GRU_N];
    let mut t = GruTrace::zeroed();
    let t0 = ticks();
    for k in 0..reps {
        if gru
            .step_traced(&h, &[scenario::drive(k as usize)], &mut t)
            .is_err()
        {
            fail("GRU step");
        }
        h = t.next;
    }
    let step_gru = instr(ticks() - t0) / reps as f32;
    let mut v = [0.5f32; GRU_N];
    let mut out = [0.0f32; GRU_N];
    let t0 = ticks();
    for _ in 0..reps {
        if gru.jvp(&h, &t, &v, &mut out).is_err() {
            fail("GRU jvp");
        }
        v[0] = out[0] * 0.5;
    }
    let jvp_gru = instr(ticks() - t0) / reps as f32;
    let (mut lh, mut lc) = ([0.1f32; LSTM_N], [0.0f32; LSTM_N]);
    let mut lt = LstmTrace::zeroed();
    let t0 = ticks();
    for k in 0..reps {
        if lstm
            .step_traced(&lh, &lc, &[scenario::drive(k as usize)], &mut lt)
            .is_err()
        {
            fail("LSTM step");
        }
        lh = lt.h_next;
        lc = lt.c_next;
    }
    let step_lstm = instr(ticks() - t0) / reps as f32;
    let mac_gru = 3 * (GRU_N * GRU_N + GRU_N);
    let mac_lstm = 4 * (LSTM_N * LSTM_N + LSTM_N);
    defmt::println!(
        "COUNT variant={=str} gru_step={=f32} gru_step_per_mac={=f32} gru_jvp={=f32} gru_jvp_per_mac={=f32} lstm_step={=f32} lstm_step_per_mac={=f32} gru_scenario={=f32} lstm_scenario={=f32}",
        variant,
        step_gru,
        step_gru / mac_gru as f32,
        jvp_gru,
        jvp_gru / (3 * GRU_N * GRU_N) as f32,
        step_lstm,
        step_lstm / mac_lstm as f32,
        instr(t_gru),
        instr(t_lstm)
    );

    // ---- parity lines for the host comparison
    scenario::parity_lines(&g, &l, |key, bits, value| {
        defmt::println!("PARITY {=str}={=u64:x} ({=f64})", key, bits, value);
    });
    trained::parity_lines(&tr, |key, bits, value| {
        defmt::println!("PARITY {=str}={=u64:x} ({=f64})", key, bits, value);
    });
    scenario::monitor_parity_lines(lambda, lambda_err, |key, bits, value| {
        defmt::println!("PARITY {=str}={=u64:x} ({=f64})", key, bits, value);
    });

    // ---- own checks
    if g.zero_level.is_nan() || l.zero_level.is_nan() || g.zero_level >= 1.0 || l.zero_level >= 1.0
    {
        fail("zero fixed points must be stable at radius 0.95");
    }
    if !(lambda < 0.0 && lambda > -0.2) {
        fail("chaos monitor: the decaying trajectory must give -0.2 < lambda_max < 0");
    }
    if !(g.radius.residual <= 1e-5 && l.radius.residual <= 1e-5 && tr.radius.residual <= 1e-5) {
        fail("spectral radius not converged");
    }
    for (est_r, pred) in [
        (g.radius.radius, g.predicted),
        (l.radius.radius, l.predicted),
    ] {
        if !(est_r > 0.3 && est_r < 2.0 && pred > 0.3 && pred < 2.0) {
            fail("radius out of any plausible range");
        }
    }
    defmt::println!("STACK high-water mark {=usize} bytes", stack_high_water());
    speed_table(variant, &instr);
    defmt::println!("ALL CHECKS PASSED");
    semihosting::process::exit(0)
}

/// A scenario's `mark`: prints the instructions of each stage since the
/// previous one (the first counted from the call of `stages`).
fn stages<'a>(cell: &'a str, instr: &'a impl Fn(u64) -> f32) -> impl FnMut(scenario::Stage) + 'a {
    let mut last = ticks();
    move |stage| {
        let now = ticks();
        defmt::println!(
            "STAGE {=str} {=str}: {=f32} instructions",
            cell,
            stage.name(),
            instr(now - last)
        );
        last = ticks();
    }
}

/// The networks of the speed table, in `.bss` (all-zero until randomised).
static mut GRU_16: Gru<f32, 16, 1> = Gru::zeroed();
static mut GRU_32: Gru<f32, 32, 1> = Gru::zeroed();
static mut GRU_64: Gru<f32, 64, 1> = Gru::zeroed();
static mut GRU_128: Gru<f32, 128, 1> = Gru::zeroed();
static mut LSTM_16: Lstm<f32, 16, 1> = Lstm::zeroed();
static mut LSTM_32: Lstm<f32, 32, 1> = Lstm::zeroed();
static mut LSTM_64: Lstm<f32, 64, 1> = Lstm::zeroed();
static mut LSTM_128: Lstm<f32, 128, 1> = Lstm::zeroed();

/// Prints one `SPEED` line per cell and size (see `speed.rs`).
fn speed_table(variant: &str, instr: &impl Fn(u64) -> f32) {
    let mut count = |f: &mut dyn FnMut() -> Result<(), gatedyn::Error>| {
        let t0 = ticks();
        for _ in 0..speed::REPS {
            f()?;
        }
        Ok(instr(ticks() - t0) / speed::REPS as f32)
    };
    // SAFETY: each static is borrowed once, here, on the only thread.
    let rows = unsafe {
        use core::ptr::addr_of_mut;
        [
            speed::gru(&mut *addr_of_mut!(GRU_16), false, &mut count),
            speed::gru(&mut *addr_of_mut!(GRU_32), false, &mut count),
            speed::gru(&mut *addr_of_mut!(GRU_64), false, &mut count),
            speed::gru(&mut *addr_of_mut!(GRU_128), false, &mut count),
            speed::gru(&mut *addr_of_mut!(GRU_16), true, &mut count),
            speed::gru(&mut *addr_of_mut!(GRU_32), true, &mut count),
            speed::gru(&mut *addr_of_mut!(GRU_64), true, &mut count),
            speed::gru(&mut *addr_of_mut!(GRU_128), true, &mut count),
            speed::lstm(&mut *addr_of_mut!(LSTM_16), &mut count),
            speed::lstm(&mut *addr_of_mut!(LSTM_32), &mut count),
            speed::lstm(&mut *addr_of_mut!(LSTM_64), &mut count),
            speed::lstm(&mut *addr_of_mut!(LSTM_128), &mut count),
        ]
    };
    #[cfg(feature = "c-baseline")]
    {
        // SAFETY: the GRU statics were last borrowed above (reset-after
        // form); put them back to the reset-before form the C code computes.
        let c = unsafe {
            use core::ptr::addr_of_mut;
            (*addr_of_mut!(GRU_16)).form = GruForm::ResetBefore;
            (*addr_of_mut!(GRU_32)).form = GruForm::ResetBefore;
            (*addr_of_mut!(GRU_64)).form = GruForm::ResetBefore;
            (*addr_of_mut!(GRU_128)).form = GruForm::ResetBefore;
            [
                (16, speed::c_baseline(&*addr_of_mut!(GRU_16), &mut count)),
                (32, speed::c_baseline(&*addr_of_mut!(GRU_32), &mut count)),
                (64, speed::c_baseline(&*addr_of_mut!(GRU_64), &mut count)),
                (128, speed::c_baseline(&*addr_of_mut!(GRU_128), &mut count)),
            ]
        };
        for (n, r) in c {
            let (step, diff) = r.unwrap_or_else(|_| fail("C baseline"));
            defmt::println!(
                "SPEED variant=c cell=gru n={=usize} step={=f32} step_per_mac={=f32} max_diff_from_gatedyn={=f32}",
                n,
                step,
                step / (3 * (n * n + n)) as f32,
                diff
            );
        }
    }
    for row in rows {
        let r = row.unwrap_or_else(|_| fail("speed table"));
        defmt::println!(
            "SPEED variant={=str} cell={=str} n={=usize} step={=f32} step_per_mac={=f32} jvp_per_mac={=f32} vjp_per_mac={=f32}",
            variant,
            r.cell,
            r.n,
            r.step,
            r.step / r.step_macs as f32,
            r.jvp / r.product_macs as f32,
            r.vjp / r.product_macs as f32
        );
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    defmt::error!("panic");
    semihosting::process::exit(101)
}
