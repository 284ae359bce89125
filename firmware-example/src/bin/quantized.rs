//! gatedyn's quantized cells on the device, on the Cortex-M4F (MPS2-AN386)
//! and the Cortex-M0 (BBC micro:bit, 16 KB of RAM) under QEMU:
//!
//! * the trained reset-after GRU exported as int8 and as int16 statics
//!   (`gatedyn export --rust --quantize`), run over the 100 steps of the
//!   fixture's inputs: `PARITY` lines for the host and every state's
//!   checksum for `gatedyn run --quantize` (compared by `cargo xtask
//!   firmware`), instructions per step, and the flash of each static;
//! * the speed rows: instructions per step of the int16 and int8 GRU (both
//!   forms) and LSTM at N = 16, 32, 64, 128 (weights in flash).
//!
//! Integer arithmetic only on the step path: no float unit is needed, so
//! the Cortex-M0 runs the same steps as the Cortex-M4F.
#![no_std]
#![no_main]

#[path = "../board.rs"]
mod board;
#[path = "../quantized_speed.rs"]
mod quantized_speed;
#[path = "../quantized_trained.rs"]
mod quantized_trained;
#[path = "../../../tests/fixtures/trained/gru_after_n32_stable_int16.rs"]
#[rustfmt::skip]
mod trained_int16;
#[path = "../../../tests/fixtures/trained/gru_after_n32_stable_int8.rs"]
#[rustfmt::skip]
mod trained_int8;

use board::{calibrate, fail, paint_stack, stack_high_water, start_clock, ticks};
use cortex_m_rt::entry;
use defmt_semihosting as _;
use quantized_speed::Buffers;

/// The core's name, for the report.
#[cfg(target_has_atomic = "32")]
const CORE: &str = "cortex-m4f";
#[cfg(not(target_has_atomic = "32"))]
const CORE: &str = "cortex-m0";

/// The speed rows' working memory, in `.bss`.
static mut BUFFERS: Buffers = Buffers::zeroed();

#[entry]
fn main() -> ! {
    paint_stack();
    start_clock();
    let (_, per_tick) = calibrate(200_000);
    let instr = |t: u64| t as f32 * per_tick;
    defmt::println!(
        "QUANTIZED core={=str}: calibration {=f32} instructions per SysTick tick",
        CORE,
        per_tick
    );

    // ---- the exported statics
    let inputs =
        quantized_trained::inputs().unwrap_or_else(|| fail("inputs.npy is not 100 x 4 f32"));
    let mut emit = |scheme: &str, key: &str, bits: u64, value: f64| {
        defmt::println!(
            "PARITY quantized.{=str}.{=str}={=u64:x} ({=f64})",
            scheme,
            key,
            bits,
            value
        );
    };
    let (e8, e16) = (quantized_trained::int8(), quantized_trained::int16());
    let (r8, t8) = run_export(&e8, &inputs, &instr);
    let (r16, t16) = run_export(&e16, &inputs, &instr);
    for (scheme, run, t, flash) in [
        (e8.scheme(), r8, t8, e8.flash()),
        (e16.scheme(), r16, t16, e16.flash()),
    ] {
        quantized_trained::parity_lines(scheme, &run, &mut emit);
        defmt::println!(
            "EXPORTED {=str} core={=str} N=32 I=4: {=usize} steps, {=f32} instructions per step (state checksums and defmt lines included), readout [{=f32}, {=f32}], static network + readout {=usize} bytes of flash",
            scheme,
            CORE,
            quantized_trained::STEPS,
            t / quantized_trained::STEPS as f32,
            run.readout[0],
            run.readout[1],
            flash
        );
    }

    // ---- the speed rows
    let mut count = |f: &mut dyn FnMut() -> Result<(), gatedyn::Error>| {
        const REPS: u32 = 10;
        f()?; // once outside the count: the tables and the state settle
        let t0 = ticks();
        for _ in 0..REPS {
            f()?;
        }
        Ok(instr(ticks() - t0) / REPS as f32)
    };
    // SAFETY: the only borrow of BUFFERS, on the only thread.
    let buf = unsafe { &mut *core::ptr::addr_of_mut!(BUFFERS) };
    for n in [16, 32, 64, 128] {
        let rows = [
            quantized_speed::gru::<i16>(n, false, buf, &mut count),
            quantized_speed::gru::<i16>(n, true, buf, &mut count),
            quantized_speed::lstm::<i16>(n, buf, &mut count),
            quantized_speed::gru::<i8>(n, false, buf, &mut count),
            quantized_speed::gru::<i8>(n, true, buf, &mut count),
            quantized_speed::lstm::<i8>(n, buf, &mut count),
        ];
        for row in rows {
            let r = row.unwrap_or_else(|_| fail("quantized speed row"));
            defmt::println!(
                "SPEED variant={=str}-{=str} cell={=str} n={=usize} step={=f32} step_per_mac={=f32}",
                r.scheme,
                CORE,
                r.cell,
                r.n,
                r.step,
                r.step / r.macs as f32
            );
        }
    }
    #[cfg(feature = "c-baseline")]
    for n in [16, 32, 64, 128] {
        let (step, same) =
            quantized_speed::c_baseline(n, buf, &mut count).unwrap_or_else(|_| fail("C baseline"));
        if !same {
            fail("the C int16 step differs from gatedyn's");
        }
        defmt::println!(
            "SPEED variant=c-int16 cell=gru n={=usize} step={=f32} step_per_mac={=f32} max_diff_from_gatedyn=0",
            n,
            step,
            step / (3 * (n * n + n)) as f32
        );
    }
    defmt::println!("STACK high-water mark {=usize} bytes", stack_high_water());
    defmt::println!("ALL CHECKS PASSED");
    semihosting::process::exit(0)
}

/// One exported network over the inputs: a `STATE scheme step checksum`
/// line per state, the run, and its instructions.
fn run_export<W: gatedyn::quant::QWeight>(
    export: &quantized_trained::Export<W>,
    inputs: &[[f32; quantized_trained::INPUTS]; quantized_trained::STEPS],
    instr: &impl Fn(u64) -> f32,
) -> (quantized_trained::QuantizedRun, f32) {
    let mut step = 0usize;
    let t0 = ticks();
    let run = export
        .run(inputs, |h| {
            defmt::println!(
                "STATE {=str} {=usize} {=u32:x}",
                export.scheme(),
                step,
                quantized_trained::fnv(quantized_trained::FNV_START, h)
            );
            step += 1;
        })
        .unwrap_or_else(|_| fail("exported network"));
    (run, instr(ticks() - t0))
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    defmt::error!("panic");
    semihosting::process::exit(101)
}
