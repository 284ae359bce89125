//! Principled initialisation, end to end: the σ_h the MFT solver picks for a
//! zero-fixed-point radius of 0.95 gives that radius in a real network.

use gatedyn::init::GateScale;
use gatedyn::mft::Mft;
use gatedyn::operator::GruJacobian;
use gatedyn::spectral_radius::{ArnoldiOptions, SpectralRadius};
use gatedyn_tests::gru;

#[test]
fn edge_of_stability_reservoir_has_the_requested_radius() {
    let mft = Mft::new();
    let bias_r = 0.8;
    let biases = gatedyn::init::GruScales {
        r: GateScale {
            sigma: 0.0,
            bias: bias_r,
            input: 0.0,
        },
        ..Default::default()
    };
    let sigma_h = mft.gru_sigma_h_for_zero_radius(0.95, &biases).unwrap();
    let n = 400;
    let mut radii = vec![];
    for seed in 0..3 {
        let mut net = gru(
            n,
            [
                GateScale::recurrent(1.0),
                GateScale {
                    sigma: 1.0,
                    bias: bias_r,
                    input: 0.0,
                },
                GateScale::recurrent(sigma_h),
            ],
            seed,
        );
        net.at_zero().unwrap();
        let mut est: Box<SpectralRadius<30>> = Box::default();
        let mut basis = vec![0.0; SpectralRadius::<30>::basis_len(n, 30)];
        let mut scratch = vec![0.0; n];
        let g = net.as_gru().unwrap();
        let mut op =
            GruJacobian::new(g.view().unwrap(), &g.h, g.trace.view(), &mut scratch).unwrap();
        let opts = ArnoldiOptions {
            krylov_dim: Some(30),
            tol: 1e-8,
            max_products: 20_000,
            ..Default::default()
        };
        radii.push(est.estimate(&mut op, &mut basis, &opts).unwrap().radius);
    }
    // circular-law edge at N = 400: within a few per cent of the large-N value
    let mean = radii.iter().sum::<f64>() / radii.len() as f64;
    assert!(
        (mean - 0.95).abs() < 0.02,
        "σ_h = {sigma_h}: radii {radii:?}"
    );
}
