/* The GRU step (the paper's reset-before form) written plainly in C, as a
 * firmware engineer would without gatedyn: the baseline of the firmware's
 * speed table (`cargo xtask firmware --c-baseline`). Compiled with
 * arm-none-eabi-gcc -O3 -mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard;
 * expf and tanhf from newlib's libm. Weights row-major, one input.
 *
 *   z = sigmoid(U_z h + W_z x + b_z)
 *   r = sigmoid(U_r h + W_r x + b_r)
 *   h' = (1 - z) h + z tanh(U_h (r h) + W_h x + b_h)
 */
#include <math.h>

struct gate {
    const float *u; /* n x n */
    const float *w; /* n x 1 */
    const float *b; /* n */
};

static float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

/* rh: scratch of n floats; z: scratch of n floats. */
void gru_step_c(int n, const struct gate *gz, const struct gate *gr, const struct gate *gh,
                const float *h, float x, float *z, float *rh, float *out)
{
    for (int i = 0; i < n; i++) {
        float az = gz->b[i] + gz->w[i] * x, ar = gr->b[i] + gr->w[i] * x;
        const float *uz = gz->u + i * n, *ur = gr->u + i * n;
        for (int j = 0; j < n; j++) {
            az += uz[j] * h[j];
            ar += ur[j] * h[j];
        }
        z[i] = sigmoid(az);
        rh[i] = sigmoid(ar) * h[i];
    }
    for (int i = 0; i < n; i++) {
        float ah = gh->b[i] + gh->w[i] * x;
        const float *uh = gh->u + i * n;
        for (int j = 0; j < n; j++)
            ah += uh[j] * rh[j];
        out[i] = (1.0f - z[i]) * h[i] + z[i] * tanhf(ah);
    }
}
