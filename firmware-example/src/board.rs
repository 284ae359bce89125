//! Board support shared by the two firmware binaries (`main.rs` and
//! `bin/minimal.rs` include this file): the instruction clock (SysTick,
//! calibrated against a loop of known length), the stack high-water mark,
//! and failing with a message. Works on the Cortex-M4F and the Cortex-M0
//! (plain atomic loads and stores only).

use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;

/// SysTick wraps (only the exception handler writes it: plain load and
/// store, which the Cortex-M0 has).
static WRAPS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    WRAPS.store(WRAPS.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// Starts SysTick on the core clock, free running over its 24 bits, its
/// wraps counted by the exception handler.
pub fn start_clock() {
    let mut cp = cortex_m::Peripherals::take().unwrap_or_else(|| fail("peripherals"));
    cp.SYST.set_clock_source(SystClkSource::Core);
    cp.SYST.set_reload(0x00FF_FFFF);
    cp.SYST.clear_current();
    cp.SYST.enable_interrupt();
    cp.SYST.enable_counter();
}

/// Free-running tick count.
pub fn ticks() -> u64 {
    loop {
        let w = WRAPS.load(Ordering::Relaxed);
        let cur = cortex_m::peripheral::SYST::get_current();
        if WRAPS.load(Ordering::Relaxed) == w {
            return ((w as u64) << 24) + (0x00FF_FFFF - cur) as u64;
        }
    }
}

/// A loop of exactly `2 n` instructions (`subs`, `bne`), for calibration.
fn spin(n: u32) {
    if n == 0 {
        return;
    }
    // SAFETY: a register-only countdown loop; no memory is touched.
    unsafe {
        core::arch::asm!(
            "1:",
            "subs r0, r0, #1",
            "bne 1b",
            inout("r0") n => _,
            options(nomem, nostack)
        );
    }
}

/// Calibrates the clock on a loop of `2 n` instructions (`n < 2³¹`) (after letting the
/// counter's first reload pass): the loop's ticks and the instructions per
/// tick. A clock that does not count fails.
pub fn calibrate(n: u32) -> (u64, f32) {
    spin(1000);
    let t0 = ticks();
    spin(n);
    let dt = ticks() - t0;
    if dt == 0 {
        fail("SysTick does not count");
    }
    (dt, n.saturating_mul(2) as f32 / dt as f32)
}

extern "C" {
    static mut __ebss: u32;
    static _stack_start: u32;
}

const PAINT: u32 = 0x5AFE_C0DE;

pub fn paint_stack() {
    let sp = cortex_m::register::msp::read() as usize;
    // SAFETY: the RAM from the end of .bss to 256 bytes below the live
    // stack pointer is unused at this point (no heap exists).
    unsafe {
        let mut p = core::ptr::addr_of_mut!(__ebss) as usize;
        while p + 4 <= sp - 256 {
            core::ptr::write_volatile(p as *mut u32, PAINT);
            p += 4;
        }
    }
}

pub fn stack_high_water() -> usize {
    // SAFETY: reads of RAM words between .bss and the stack top.
    unsafe {
        let top = core::ptr::addr_of!(_stack_start) as usize;
        let mut p = core::ptr::addr_of_mut!(__ebss) as usize;
        while p < top && core::ptr::read_volatile(p as *const u32) == PAINT {
            p += 4;
        }
        top - p
    }
}

pub fn fail(what: &str) -> ! {
    defmt::error!("CHECK FAILED: {=str}", what);
    semihosting::process::exit(1)
}
