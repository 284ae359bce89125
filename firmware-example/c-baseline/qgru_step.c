/* The int16 GRU step (the paper's reset-before form, one input) written
 * plainly in C: the baseline of the quantized speed rows
 * (`cargo xtask firmware --c-baseline`). The same formats and roundings as
 * gatedyn::quant (docs/THEORY.md §16), so its next state is the same bits:
 *
 *   weights int16 with one multiplier per row (acc * mult >> shift, rounded
 *   to nearest, to Q16), biases Q16, the state Q15;
 *   z = sigmoid(U_z h + W_z x + b_z), r = sigmoid(U_r h + W_r x + b_r) in Q15
 *   from the Q23 tables with linear interpolation;
 *   rh = round(r h / 2^15);
 *   h' = ((2^15 - z) h + z tanh(U_h rh + W_h x + b_h) + 2^14) >> 15.
 *
 * Compiled with arm-none-eabi-gcc -O3 -mcpu=cortex-m4 -mthumb.
 */
#include <stdint.h>

struct qgate {
    const int16_t *u;       /* n x n */
    const int16_t *w;       /* n x 1 */
    const int32_t *b;       /* n, Q16 */
    const int32_t *u_mult;  /* n */
    const uint8_t *u_shift; /* n */
    const int32_t *w_mult;  /* n */
    const uint8_t *w_shift; /* n */
};

static int32_t clamp32(int64_t v)
{
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

static int32_t requant(int64_t acc, int32_t mult, uint8_t shift)
{
    int64_t p = acc * mult;
    if (shift == 0)
        return clamp32(p);
    return clamp32((p + ((int64_t)1 << (shift - 1))) >> shift);
}

static int32_t sat_add(int32_t a, int32_t b) { return clamp32((int64_t)a + b); }

/* table (Q23, 1025 entries, step 2^step_bits in Q16) at |a|, to Q15 */
static int32_t interp(const int32_t *table, uint32_t mag, int step_bits)
{
    uint32_t k = mag >> step_bits;
    int32_t y;
    if (k >= 1024) {
        y = table[1024];
    } else {
        int32_t t = (int32_t)(mag & ((1u << step_bits) - 1));
        int32_t y0 = table[k], y1 = table[k + 1];
        y = y0 + (((y1 - y0) * t + (1 << (step_bits - 1))) >> step_bits);
    }
    return (y + 128) >> 8;
}

static int32_t sigmoid_q15(const int32_t *table, int32_t a)
{
    uint32_t mag = a < 0 ? 0u - (uint32_t)a : (uint32_t)a;
    int32_t s = interp(table, mag, 10);
    return a < 0 ? 32768 - s : s;
}

static int32_t tanh_q15(const int32_t *table, int32_t a)
{
    uint32_t mag = a < 0 ? 0u - (uint32_t)a : (uint32_t)a;
    int32_t t = interp(table, mag, 9);
    return a < 0 ? -t : t;
}

static int16_t sat16(int32_t v) { return v > 32767 ? 32767 : v < -32768 ? -32768 : (int16_t)v; }

/* z: scratch of n; rh: scratch of n; out: h'. */
void qgru_step_c(int n, const struct qgate *gz, const struct qgate *gr, const struct qgate *gh,
                 const int16_t *h, int16_t x, const int32_t *sigmoid_table,
                 const int32_t *tanh_table, int32_t *z, int16_t *rh, int16_t *out)
{
    for (int i = 0; i < n; i++) {
        const int16_t *uz = gz->u + i * n, *ur = gr->u + i * n;
        int64_t acc_z = 0, acc_r = 0;
        for (int j = 0; j < n; j++) {
            acc_z += (int32_t)uz[j] * h[j];
            acc_r += (int32_t)ur[j] * h[j];
        }
        int32_t az = sat_add(requant(acc_z, gz->u_mult[i], gz->u_shift[i]),
                             sat_add(requant((int32_t)gz->w[i] * x, gz->w_mult[i], gz->w_shift[i]),
                                     gz->b[i]));
        int32_t ar = sat_add(requant(acc_r, gr->u_mult[i], gr->u_shift[i]),
                             sat_add(requant((int32_t)gr->w[i] * x, gr->w_mult[i], gr->w_shift[i]),
                                     gr->b[i]));
        z[i] = sigmoid_q15(sigmoid_table, az);
        int32_t r = sigmoid_q15(sigmoid_table, ar);
        rh[i] = sat16(clamp32(((int64_t)r * h[i] + (1 << 14)) >> 15));
    }
    for (int i = 0; i < n; i++) {
        const int16_t *uh = gh->u + i * n;
        int64_t acc = 0;
        for (int j = 0; j < n; j++)
            acc += (int32_t)uh[j] * rh[j];
        int32_t ah = sat_add(requant(acc, gh->u_mult[i], gh->u_shift[i]),
                             sat_add(requant((int32_t)gh->w[i] * x, gh->w_mult[i], gh->w_shift[i]),
                                     gh->b[i]));
        int32_t c = tanh_q15(tanh_table, ah);
        int32_t blend = (32768 - z[i]) * h[i] + z[i] * c;
        out[i] = sat16((blend + (1 << 14)) >> 15);
    }
}
