//! The README's ten-line example compiles and runs.

#[test]
fn readme_example() -> Result<(), gatedyn::Error> {
    use gatedyn::spectral_curve::{predicted_radius, CurveOptions, GruSigmas, GruSupport};
    use gatedyn::spectral_radius::{ArnoldiOptions, SpectralRadius};
    use gatedyn::{init::GateScale, operator::GruJacobian, Gru, GruTrace};
    use rand_core::SeedableRng;

    let mut rng = rand_xorshift::XorShiftRng::seed_from_u64(7);
    let mut net: Gru<f32, 32, 1> = Gru::zeroed();
    net.randomize(
        &mut rng,
        [
            GateScale::recurrent(2.0),
            GateScale::recurrent(1.0),
            GateScale::recurrent(1.8),
        ],
    )?;
    let (mut h, mut t) = ([0.0f32; 32], GruTrace::zeroed());
    for k in 0..200 {
        net.step_traced(&h, &[libm::sinf(0.1 * k as f32)], &mut t)?;
        h = t.next;
    }
    net.step_traced(&h, &[0.0], &mut t)?;
    let (mut est, mut basis, mut scratch) =
        (SpectralRadius::<16>::new(), [0.0f32; 32 * 17], [0.0f32; 32]);
    let r = est.estimate(
        &mut GruJacobian::new(net.view(), &h, t.view(), &mut scratch)?,
        &mut basis,
        &ArnoldiOptions {
            tol: 1e-5,
            ..Default::default()
        },
    )?;
    let support = GruSupport::new(
        GruSigmas {
            z: 2.0,
            r: 1.0,
            h: 1.8,
        },
        net.activation,
        &h,
        t.view(),
    )?;
    let (predicted, _angle) = predicted_radius(&support, &CurveOptions::coarse())?;
    assert!(r.radius > 0.5 && r.radius < 1.5, "{}", r.radius);
    assert!(predicted > 0.5 && predicted < 1.5, "{predicted}");
    Ok(())
}
