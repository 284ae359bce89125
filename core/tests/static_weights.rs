//! A network can live in a `static` (weights in flash) and be used from
//! there without copying.

use gatedyn::{Activation, Gate, Gru, GruForm, GruTrace};

/// A 2-unit GRU written out as a constant: only the candidate gate couples
/// the units (`U_h = [[0, 2], [-2, 0]]`), the gates have constant biases.
static NET: Gru<f32, 2, 0> = Gru {
    z: Gate {
        u: [[0.0; 2]; 2],
        w: [[]; 2],
        b: [0.0; 2],
    },
    r: Gate {
        u: [[0.0; 2]; 2],
        w: [[]; 2],
        b: [20.0; 2],
    },
    h: Gate {
        u: [[0.0, 2.0], [-2.0, 0.0]],
        w: [[]; 2],
        b: [0.0; 2],
    },
    form: GruForm::ResetBefore,
    activation: Activation::HardTanh,
};

static ZEROED: Gru<f64, 3, 1> = Gru::zeroed();

#[test]
fn static_network_steps_and_differentiates() {
    let h = [0.1f32, 0.2];
    let mut t = GruTrace::zeroed();
    NET.step_traced(&h, &[], &mut t).unwrap();
    // z = 1/2, r ≈ 1: h' = h/2 + φ(U_h h)/2 with hard-tanh inside its linear range
    let r = 1.0 / (1.0 + (-20.0f32).exp());
    let want = [0.05 + 0.5 * (2.0 * r * 0.2), 0.1 + 0.5 * (-2.0 * r * 0.1)];
    for k in 0..2 {
        assert!(
            (t.next[k] - want[k]).abs() < 1e-6,
            "{:?} vs {want:?}",
            t.next
        );
    }
    let mut j = [[0.0f32; 2]; 2];
    NET.jacobian(&h, &t, &mut j).unwrap();
    // J = (1 - z) I + z φ' U_h D[r] + ... with σ'(a_r) ≈ 2e-9
    assert!(
        (j[0][0] - 0.5).abs() < 1e-6
            && (j[0][1] - 1.0).abs() < 1e-6
            && (j[1][0] + 1.0).abs() < 1e-6
    );
    let mut out = [0.0; 3];
    ZEROED.step(&[1.0, -1.0, 0.5], &[2.0], &mut out).unwrap();
    // zero weights: z = 1/2, h̃ = 0, so h' = h/2
    assert_eq!(out, [0.5, -0.5, 0.25]);
}
