//! The speed table: instructions per step, per `J v` and per `Jᵀ v` of the
//! GRU (both forms) and the LSTM at N = 16, 32, 64, 128 (one input), on
//! random weights at the scenario's scales. The networks live in `.bss`
//! (an N = 128 LSTM is 266 KB); each is measured over [`REPS`] calls.
//!
//! Multiply-accumulates per call (I = 1): a GRU step does `3 (N² + N)`, its
//! `J v` and `Jᵀ v` `3 N²`; an LSTM step `4 (N² + N)`, its products `4 N²`.

use gatedyn::init::GateScale;
use gatedyn::{Error, Gru, GruForm, GruTrace, Lstm, LstmTrace};
use rand_core::SeedableRng;
use rand_xorshift::XorShiftRng;

/// Calls per measurement.
pub const REPS: u32 = 20;

/// One row of the table.
pub struct Row {
    /// `"gru"`, `"gru-after"` (PyTorch's reset-after form) or `"lstm"`.
    pub cell: &'static str,
    /// Hidden size.
    pub n: usize,
    /// Instructions per step.
    pub step: f32,
    /// Instructions per `J v`.
    pub jvp: f32,
    /// Instructions per `Jᵀ v`.
    pub vjp: f32,
    /// Multiply-accumulates of a step.
    pub step_macs: usize,
    /// Multiply-accumulates of a product.
    pub product_macs: usize,
}

fn scale(sigma: f64) -> GateScale {
    GateScale {
        sigma,
        bias: 0.0,
        input: 1.0,
    }
}

/// A GRU row, measured by `count` (instructions of one call of the closure
/// it is given).
pub fn gru<const N: usize>(
    net: &mut Gru<f32, N, 1>,
    reset_after: bool,
    count: &mut impl FnMut(&mut dyn FnMut() -> Result<(), Error>) -> Result<f32, Error>,
) -> Result<Row, Error> {
    let mut rng = XorShiftRng::seed_from_u64(7);
    net.randomize(&mut rng, [scale(1.0), scale(1.0), scale(1.8)])?;
    if reset_after {
        net.form = GruForm::ResetAfter {
            recurrent_bias: [0.1; N],
        };
    }
    let mut h = [0.3f32; N];
    let mut t = GruTrace::zeroed();
    let mut k = 0u32;
    let step = count(&mut || {
        gru_step(net, &h, &[crate::scenario::drive(k as usize)], &mut t)?;
        h = t.next;
        k += 1;
        Ok(())
    })?;
    let view = net.view();
    let (mut v, mut out, mut scratch) = ([0.5f32; N], [0.0f32; N], [0.0f32; N]);
    let jvp = count(&mut || {
        gru_jvp(&view, &h, &t, &v, &mut out, &mut scratch)?;
        v[0] = out[0] * 0.5;
        Ok(())
    })?;
    let vjp = count(&mut || {
        view.vjp(&h, t.view(), &v, &mut out, &mut scratch)?;
        v[0] = out[0] * 0.5;
        Ok(())
    })?;
    Ok(Row {
        cell: if reset_after { "gru-after" } else { "gru" },
        n: N,
        step,
        jvp,
        vjp,
        step_macs: 3 * (N * N + N),
        product_macs: 3 * N * N,
    })
}

/// The LSTM row.
pub fn lstm<const N: usize>(
    net: &mut Lstm<f32, N, 1>,
    count: &mut impl FnMut(&mut dyn FnMut() -> Result<(), Error>) -> Result<f32, Error>,
) -> Result<Row, Error> {
    let mut rng = XorShiftRng::seed_from_u64(8);
    net.randomize(&mut rng, [scale(1.0), scale(1.0), scale(1.0), scale(1.8)])?;
    let (mut h, mut c) = ([0.3f32; N], [0.0f32; N]);
    let mut t = LstmTrace::zeroed();
    let mut k = 0u32;
    let step = count(&mut || {
        net.step_traced(&h, &c, &[crate::scenario::drive(k as usize)], &mut t)?;
        h = t.h_next;
        c = t.c_next;
        k += 1;
        Ok(())
    })?;
    let view = net.view();
    let (mut v, mut out, mut scratch) = ([[0.5f32; N]; 2], [[0.0f32; N]; 2], [0.0f32; N]);
    let jvp = count(&mut || {
        view.jvp(&h, &c, t.view(), v.as_flattened(), out.as_flattened_mut())?;
        v[0][0] = out[0][0] * 0.5;
        Ok(())
    })?;
    let vjp = count(&mut || {
        view.vjp(
            &h,
            &c,
            t.view(),
            v.as_flattened(),
            out.as_flattened_mut(),
            &mut scratch,
        )?;
        v[0][0] = out[0][0] * 0.5;
        Ok(())
    })?;
    Ok(Row {
        cell: "lstm",
        n: N,
        step,
        jvp,
        vjp,
        step_macs: 4 * (N * N + N),
        product_macs: 4 * N * N,
    })
}

/// `J v` and the step below are kept out of line so that each size has a
/// symbol of its own: the disassembly and a QEMU execution trace
/// (`-d exec -dfilter`) can then find them.
#[inline(never)]
fn gru_jvp<const N: usize>(
    view: &gatedyn::GruRef<'_, f32>,
    h: &[f32; N],
    t: &GruTrace<f32, N>,
    v: &[f32; N],
    out: &mut [f32; N],
    scratch: &mut [f32; N],
) -> Result<(), Error> {
    view.jvp(h, t.view(), v, out, scratch)
}

#[inline(never)]
fn gru_step<const N: usize>(
    net: &Gru<f32, N, 1>,
    h: &[f32; N],
    x: &[f32; 1],
    t: &mut GruTrace<f32, N>,
) -> Result<(), Error> {
    net.step_traced(h, x, t)
}

/// The plain-C GRU step (`c-baseline/gru_step.c`) on the same weights as
/// [`gru`]'s reset-before network: instructions per step, and the largest
/// difference of its next state from gatedyn's (the same function, so only
/// rounding and the libm differ).
#[cfg(feature = "c-baseline")]
pub fn c_baseline<const N: usize>(
    net: &Gru<f32, N, 1>,
    count: &mut impl FnMut(&mut dyn FnMut() -> Result<(), Error>) -> Result<f32, Error>,
) -> Result<(f32, f32), Error> {
    #[repr(C)]
    struct CGate {
        u: *const f32,
        w: *const f32,
        b: *const f32,
    }
    extern "C" {
        fn gru_step_c(
            n: i32,
            gz: *const CGate,
            gr: *const CGate,
            gh: *const CGate,
            h: *const f32,
            x: f32,
            z: *mut f32,
            rh: *mut f32,
            out: *mut f32,
        );
    }
    let gate = |g: &gatedyn::Gate<f32, N, 1>| CGate {
        u: g.u.as_flattened().as_ptr(),
        w: g.w.as_flattened().as_ptr(),
        b: g.b.as_ptr(),
    };
    let (gz, gr, gh) = (gate(&net.z), gate(&net.r), gate(&net.h));
    let (mut z, mut rh) = ([0.0f32; N], [0.0f32; N]);
    // the C step from `h` with input `x` into `out`
    let mut c_step = |h: &[f32; N], x: f32, out: &mut [f32; N]| {
        // SAFETY: every pointer is to N (or N·N) live floats, as the C
        // function reads and writes them; the outputs do not alias.
        unsafe {
            gru_step_c(
                N as i32,
                &gz,
                &gr,
                &gh,
                h.as_ptr(),
                x,
                z.as_mut_ptr(),
                rh.as_mut_ptr(),
                out.as_mut_ptr(),
            );
        }
    };
    let (mut h, mut out) = ([0.3f32; N], [0.0f32; N]);
    let mut k = 0u32;
    let step = count(&mut || {
        c_step(&h, crate::scenario::drive(k as usize), &mut out);
        h = out;
        k += 1;
        Ok(())
    })?;
    // one step from the same state on both sides
    let mut t = GruTrace::zeroed();
    net.step_traced(&h, &[0.5], &mut t)?;
    c_step(&h, 0.5, &mut out);
    let diff = out
        .iter()
        .zip(&t.next)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    Ok((step, diff))
}
