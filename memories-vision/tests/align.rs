//! Face alignment (`memories_vision::align`): the similarity fit, and chips cut through it.
//! These are integration tests, not unit tests in `src/`, so that `cargo test` does not compile
//! the crate a second time with its networks (see the `[lib]` note in Cargo.toml).

use image::{Rgb, RgbImage};
use memories_vision::align::{CHIP_SIZE, Similarity, TEMPLATE, chip};

#[test]
fn fit_recovers_a_known_similarity() {
    let t = Similarity {
        a: 1.2,
        b: -0.5,
        tx: 14.0,
        ty: -3.0,
    };
    let from = [
        (0.0, 0.0),
        (10.0, 2.0),
        (4.0, 9.0),
        (-3.0, 5.0),
        (7.0, -6.0),
    ];
    let to: Vec<_> = from.iter().map(|&p| t.apply(p)).collect();
    let got = Similarity::fit(&from, &to);
    for (g, e) in [(got.a, t.a), (got.b, t.b), (got.tx, t.tx), (got.ty, t.ty)] {
        assert!((g - e).abs() < 1e-4, "{got:?} vs {t:?}");
    }
    let back = got.inverse().unwrap().apply(got.apply((3.0, 4.0)));
    assert!((back.0 - 3.0).abs() < 1e-4 && (back.1 - 4.0).abs() < 1e-4);
}

#[test]
fn a_face_already_in_place_is_copied() {
    let image = RgbImage::from_fn(CHIP_SIZE, CHIP_SIZE, |x, y| {
        Rgb([x as u8, y as u8, (x + y) as u8])
    });
    let out = chip(&image, &TEMPLATE);
    assert_eq!(out, image);
}

#[test]
fn a_tilted_twice_as_large_face_is_turned_upright() {
    // The chip rotated by 30 degrees, scaled by 2 and shifted so that it lies inside a
    // 500x500 photo: the chip of a photo drawn through that transform is the drawing,
    // upright.
    let (cos, sin) = (
        30f32.to_radians().cos() * 2.0,
        30f32.to_radians().sin() * 2.0,
    );
    let t = Similarity {
        a: cos,
        b: sin,
        tx: 200.0,
        ty: 40.0,
    };
    let landmarks = TEMPLATE.map(|p| t.apply(p));
    let back = t.inverse().unwrap();
    // A smooth pattern in chip coordinates, drawn into the photo.
    let pattern = |(x, y): (f32, f32)| (x * 1.3 + y * 0.4).clamp(0.0, 255.0);
    let photo = RgbImage::from_fn(500, 500, |x, y| {
        let v = pattern(back.apply((x as f32, y as f32))) as u8;
        Rgb([v, v, v])
    });
    let out = chip(&photo, &landmarks);
    let mut worst = 0.0f32;
    for (x, y, p) in out.enumerate_pixels() {
        let expect = pattern((x as f32, y as f32));
        worst = worst.max((f32::from(p[0]) - expect).abs());
    }
    assert!(worst <= 3.0, "off by {worst}");
}
