//! The quantized rows of the speed table: instructions per step of the
//! int16 and int8 GRU (both forms) and LSTM at N = 16, 32, 64, 128, one
//! input, on the Cortex-M4F and the Cortex-M0.
//!
//! The weights live in flash, generated at compile time: one pool of
//! pseudo-random integers per scheme, each gate a window of it at its own
//! offset, viewed at run-time sizes through [`QGruRef`] and [`QLstmRef`]
//! (the steps the const-generic cells call). The row multipliers give the
//! pre-activations a spread of about `g = 1.5` for a state of unit scale
//! (uniform weights of variance `g²/N`). The state starts at 0.3 and the
//! input is the scenario's sine, so the gates and the activation tables
//! see values of every sign.
//!
//! Multiply-accumulates per step (I = 1): GRU `3 (N² + N)`, LSTM
//! `4 (N² + N)`, the same count as the `f32` rows.

use gatedyn::quant::{QGateRef, QGruRef, QGruTraceMut, QLstmRef, QLstmTraceMut, QWeight, Requant};
use gatedyn::{Activation, Error, GruForm};

/// Largest hidden size.
pub const N_MAX: usize = 128;
/// Offset between two gates' windows in the pools.
const GATE_STRIDE: usize = 97;
/// Pool length: the largest gate (`N² + N` weights) at the fourth window.
const POOL: usize = N_MAX * N_MAX + N_MAX + 3 * GATE_STRIDE;

/// One step of xorshift32.
const fn xorshift(mut x: u32) -> u32 {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    x
}

const fn pool_i16() -> [i16; POOL] {
    let mut out = [0i16; POOL];
    let (mut x, mut k) = (0x9E37_79B9u32, 0);
    while k < POOL {
        x = xorshift(x);
        // uniform in [−32767, 32767]
        out[k] = (((x >> 16) % 65535) as i32 - 32767) as i16;
        k += 1;
    }
    out
}

const fn pool_i8() -> [i8; POOL] {
    let mut out = [0i8; POOL];
    let (mut x, mut k) = (0x85EB_CA6Bu32, 0);
    while k < POOL {
        x = xorshift(x);
        out[k] = (((x >> 16) % 255) as i32 - 127) as i8;
        k += 1;
    }
    out
}

/// Biases in Q16, within ±0.5.
const fn pool_bias() -> [i32; 4 * N_MAX] {
    let mut out = [0i32; 4 * N_MAX];
    let (mut x, mut k) = (0xC2B2_AE35u32, 0);
    while k < 4 * N_MAX {
        x = xorshift(x);
        out[k] = (x >> 16) as i32 - 32768;
        k += 1;
    }
    out
}

static POOL_I16: [i16; POOL] = pool_i16();
static POOL_I8: [i8; POOL] = pool_i8();
static BIAS: [i32; 4 * N_MAX] = pool_bias();

/// The row multiplier taking `Σ w_q h_q` (weights of largest magnitude
/// `w_max`, `h` in Q15) to Q16 for weights uniform in `±√3 g / √N`:
/// `2 √3 g / (√N w_max)`, as `mult · 2^−shift` with as many significant
/// bits as the conversion gives (`gatedyn::quant::quantize_gate`): the
/// product with the largest accumulator, `N · w_max · 2¹⁵`, stays below
/// `2⁶²`, and at most 31.
const fn requant(n: usize, sqrt_n: f64, w_max: f64) -> Requant {
    let bound = n as f64 * w_max * 32768.0;
    let mut acc_bits = 0u32;
    let mut p = 1.0;
    while p < bound {
        p *= 2.0;
        acc_bits += 1;
    }
    let bits = if 62 - (acc_bits + 1) < 31 {
        62 - (acc_bits + 1)
    } else {
        31
    };
    let top = (1u64 << (bits - 1)) as f64;
    let mut m = 2.0 * 1.732_050_807_568_877 * 1.5 / (sqrt_n * w_max);
    let mut shift = 0u8;
    while m < top {
        m *= 2.0;
        shift += 1;
    }
    Requant {
        mult: m as i32,
        shift,
    }
}

/// The multipliers of one size and scheme: `[N_MAX]` of the same value.
macro_rules! scales {
    ($($name:ident = $n:expr, $sqrt_n:expr, $w_max:expr;)*) => {
        $(static $name: [Requant; N_MAX] = [requant($n, $sqrt_n, $w_max); N_MAX];)*
    };
}
scales! {
    S16_I16 = 16, 4.0, 32767.0;
    S32_I16 = 32, 5.656_854_249_492_381, 32767.0;
    S64_I16 = 64, 8.0, 32767.0;
    S128_I16 = 128, 11.313_708_498_984_761, 32767.0;
    S16_I8 = 16, 4.0, 127.0;
    S32_I8 = 32, 5.656_854_249_492_381, 127.0;
    S64_I8 = 64, 8.0, 127.0;
    S128_I8 = 128, 11.313_708_498_984_761, 127.0;
}

/// A scheme's weights in flash.
pub trait Pool: QWeight {
    /// The pool.
    fn pool() -> &'static [Self];
    /// The row multipliers at size `n`.
    fn scales(n: usize) -> &'static [Requant];
}

impl Pool for i16 {
    fn pool() -> &'static [i16] {
        &POOL_I16
    }
    fn scales(n: usize) -> &'static [Requant] {
        match n {
            16 => &S16_I16,
            32 => &S32_I16,
            64 => &S64_I16,
            _ => &S128_I16,
        }
    }
}

impl Pool for i8 {
    fn pool() -> &'static [i8] {
        &POOL_I8
    }
    fn scales(n: usize) -> &'static [Requant] {
        match n {
            16 => &S16_I8,
            32 => &S32_I8,
            64 => &S64_I8,
            _ => &S128_I8,
        }
    }
}

/// Gate `k` at size `n` (one input): a window of the pool.
fn gate<W: Pool>(k: usize, n: usize) -> QGateRef<'static, W> {
    let start = k * GATE_STRIDE;
    let scales = &W::scales(n)[..n];
    QGateRef {
        u: &W::pool()[start..start + n * n],
        w: &W::pool()[start + n * n..start + n * n + n],
        b: &BIAS[k * N_MAX..k * N_MAX + n],
        u_scale: scales,
        w_scale: scales,
    }
}

/// The input step of the speed networks: the drive's ±1 is ±32767.
const INPUT_SCALE: f64 = 1.0 / 32767.0;

/// Working memory of the largest step, in `.bss`: the trace arrays, the
/// state and the LSTM's cell state.
pub struct Buffers {
    trace: [[i32; N_MAX]; 10],
    h: [i16; N_MAX],
    next: [i16; N_MAX],
    c: [i32; N_MAX],
}

impl Buffers {
    /// All zeros.
    pub const fn zeroed() -> Self {
        Buffers {
            trace: [[0; N_MAX]; 10],
            h: [0; N_MAX],
            next: [0; N_MAX],
            c: [0; N_MAX],
        }
    }
}

/// One row of the table.
pub struct Row {
    /// `"int16"` or `"int8"`.
    pub scheme: &'static str,
    /// `"gru"`, `"gru-after"` or `"lstm"`.
    pub cell: &'static str,
    /// Hidden size.
    pub n: usize,
    /// Instructions per step.
    pub step: f32,
    /// Multiply-accumulates of a step.
    pub macs: usize,
}

/// The drive, `sin(0.2 k)`, as an input step: `round(32767 sin(0.2 k))`.
fn input(k: u32) -> [i16; 1] {
    [libm::roundf(libm::sinf(0.2 * k as f32) * 32767.0) as i16]
}

/// The GRU of gate windows 0, 1 and 2 at size `n` (one input), in the
/// paper's form or PyTorch's reset-after one.
fn gru_net<W: Pool>(n: usize, reset_after: bool) -> Result<QGruRef<'static, W>, Error> {
    let form = if reset_after {
        GruForm::ResetAfter {
            recurrent_bias: &BIAS[3 * N_MAX..3 * N_MAX + n],
        }
    } else {
        GruForm::ResetBefore
    };
    QGruRef::new(
        n,
        1,
        [gate::<W>(0, n), gate::<W>(1, n), gate::<W>(2, n)],
        form,
        Activation::Tanh,
        INPUT_SCALE,
    )
}

/// A GRU step's trace at size `n`, from the buffers' arrays.
fn gru_trace<'a>(
    trace: &'a mut [[i32; N_MAX]; 10],
    next: &'a mut [i16; N_MAX],
    n: usize,
) -> QGruTraceMut<'a> {
    let [z, r, candidate, a_z, a_r, a_h, reset_operand, ..] = trace;
    QGruTraceMut {
        z: &mut z[..n],
        r: &mut r[..n],
        candidate: &mut candidate[..n],
        a_z: &mut a_z[..n],
        a_r: &mut a_r[..n],
        a_h: &mut a_h[..n],
        reset_operand: &mut reset_operand[..n],
        next: &mut next[..n],
    }
}

/// A GRU row at size `n`, measured by `count` (instructions of one call
/// of the closure it is given).
pub fn gru<W: Pool>(
    n: usize,
    reset_after: bool,
    buf: &mut Buffers,
    count: &mut impl FnMut(&mut dyn FnMut() -> Result<(), Error>) -> Result<f32, Error>,
) -> Result<Row, Error> {
    let net = gru_net::<W>(n, reset_after)?;
    buf.h[..n].fill(9830); // 0.3
    let mut k = 0u32;
    let Buffers { trace, h, next, .. } = buf;
    let step = count(&mut || {
        gru_step(&net, &h[..n], &input(k), gru_trace(trace, next, n))?;
        h[..n].copy_from_slice(&next[..n]);
        k += 1;
        Ok(())
    })?;
    Ok(Row {
        scheme: W::NAME,
        cell: if reset_after { "gru-after" } else { "gru" },
        n,
        step,
        macs: 3 * (n * n + n),
    })
}

/// An LSTM row at size `n`.
pub fn lstm<W: Pool>(
    n: usize,
    buf: &mut Buffers,
    count: &mut impl FnMut(&mut dyn FnMut() -> Result<(), Error>) -> Result<f32, Error>,
) -> Result<Row, Error> {
    let net = QLstmRef::new(
        n,
        1,
        [
            gate::<W>(0, n),
            gate::<W>(1, n),
            gate::<W>(2, n),
            gate::<W>(3, n),
        ],
        Activation::Tanh,
        INPUT_SCALE,
    )?;
    buf.h[..n].fill(9830);
    buf.c[..n].fill(0);
    let mut k = 0u32;
    let Buffers { trace, h, next, c } = buf;
    let step = count(&mut || {
        let [f, i, o, g, a_f, a_i, a_o, a_c, c_next, c_act] = &mut *trace;
        lstm_step(
            &net,
            &h[..n],
            &c[..n],
            &input(k),
            QLstmTraceMut {
                f: &mut f[..n],
                i: &mut i[..n],
                o: &mut o[..n],
                g: &mut g[..n],
                a_f: &mut a_f[..n],
                a_i: &mut a_i[..n],
                a_o: &mut a_o[..n],
                a_c: &mut a_c[..n],
                c_next: &mut c_next[..n],
                c_act: &mut c_act[..n],
                h_next: &mut next[..n],
            },
        )?;
        h[..n].copy_from_slice(&next[..n]);
        c[..n].copy_from_slice(&c_next[..n]);
        k += 1;
        Ok(())
    })?;
    Ok(Row {
        scheme: W::NAME,
        cell: "lstm",
        n,
        step,
        macs: 4 * (n * n + n),
    })
}

/// The steps, out of line so that each scheme has a symbol of its own for
/// the disassembly.
#[inline(never)]
fn gru_step<W: QWeight>(
    net: &QGruRef<'_, W>,
    h: &[i16],
    x: &[i16],
    t: QGruTraceMut<'_>,
) -> Result<(), Error> {
    net.step(h, x, t)
}

#[inline(never)]
fn lstm_step<W: QWeight>(
    net: &QLstmRef<'_, W>,
    h: &[i16],
    c: &[i32],
    x: &[i16],
    t: QLstmTraceMut<'_>,
) -> Result<(), Error> {
    net.step(h, c, x, t)
}

/// The plain-C int16 step (`c-baseline/qgru_step.c`, the paper's form) on
/// the weights of [`gru`]'s int16 row at size `n`: instructions per step,
/// and whether its next state is gatedyn's, bit for bit, from the same
/// state and input (the same formats and roundings).
#[cfg(feature = "c-baseline")]
pub fn c_baseline(
    n: usize,
    buf: &mut Buffers,
    count: &mut impl FnMut(&mut dyn FnMut() -> Result<(), Error>) -> Result<f32, Error>,
) -> Result<(f32, bool), Error> {
    use gatedyn::quant::activation::{SIGMOID_Q23, TANH_Q23};
    #[repr(C)]
    struct CGate {
        u: *const i16,
        w: *const i16,
        b: *const i32,
        u_mult: *const i32,
        u_shift: *const u8,
        w_mult: *const i32,
        w_shift: *const u8,
    }
    extern "C" {
        fn qgru_step_c(
            n: i32,
            gz: *const CGate,
            gr: *const CGate,
            gh: *const CGate,
            h: *const i16,
            x: i16,
            sigmoid_table: *const i32,
            tanh_table: *const i32,
            z: *mut i32,
            rh: *mut i16,
            out: *mut i16,
        );
    }
    // the multipliers split into the C arrays (the same for every row)
    let s = <i16 as Pool>::scales(n)[0];
    let (mult, shift) = ([s.mult; N_MAX], [s.shift; N_MAX]);
    let cgate = |k: usize| {
        let g = gate::<i16>(k, n);
        CGate {
            u: g.u.as_ptr(),
            w: g.w.as_ptr(),
            b: g.b.as_ptr(),
            u_mult: mult.as_ptr(),
            u_shift: shift.as_ptr(),
            w_mult: mult.as_ptr(),
            w_shift: shift.as_ptr(),
        }
    };
    let (gz, gr, gh) = (cgate(0), cgate(1), cgate(2));
    let (mut z, mut rh, mut out) = ([0i32; N_MAX], [0i16; N_MAX], [0i16; N_MAX]);
    let mut c_step = |h: &[i16], x: i16, out: &mut [i16; N_MAX]| {
        // SAFETY: every pointer is to at least n (or n·n) live values, as
        // the C function reads and writes them; the outputs do not alias.
        unsafe {
            qgru_step_c(
                n as i32,
                &gz,
                &gr,
                &gh,
                h.as_ptr(),
                x,
                SIGMOID_Q23.as_ptr(),
                TANH_Q23.as_ptr(),
                z.as_mut_ptr(),
                rh.as_mut_ptr(),
                out.as_mut_ptr(),
            );
        }
    };
    let mut h = [9830i16; N_MAX];
    let mut k = 0u32;
    let step = count(&mut || {
        c_step(&h[..n], input(k)[0], &mut out);
        h[..n].copy_from_slice(&out[..n]);
        k += 1;
        Ok(())
    })?;
    // one step from the same state on both sides
    let x = input(k);
    let Buffers { trace, next, .. } = buf;
    gru_net::<i16>(n, false)?.step(&h[..n], &x, gru_trace(trace, next, n))?;
    c_step(&h[..n], x[0], &mut out);
    Ok((step, out[..n] == next[..n]))
}
