//! The host's faer-assembled GRU Jacobian equals the core's dense one.

use gatedyn::init::GateScale;
use gatedyn::Activation;
use gatedyn_host::linalg::eigen::jacobian;
use gatedyn_host::net::{Net, Scales};

#[test]
fn faer_gru_jacobian_equals_core() {
    let s = [
        GateScale::recurrent(2.0),
        GateScale {
            sigma: 3.0,
            bias: 0.4,
            input: 0.0,
        },
        GateScale::recurrent(2.5),
    ];
    let mut net = Net::random(100, Scales::Gru(s.into()), Activation::Tanh, 4).unwrap();
    net.run(30, || {}).unwrap();
    let core = net.jacobian().unwrap();
    let host = jacobian(&net).unwrap();
    let mut worst = 0.0f64;
    for i in 0..100 {
        for k in 0..100 {
            worst = worst.max((host[(i, k)] - core[i * 100 + k]).abs());
        }
    }
    let scale = core.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    assert!(worst <= 1e-13 * scale, "max difference {worst:e}");
}
