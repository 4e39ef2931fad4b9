//! Face-aware Ken Burns motion: which part of a photo the frame shows at each moment of a shot.
//!
//! A shot moves between two crop rectangles of the output's aspect ratio, a wide one and a close
//! one, zooming in or out. Both lie inside the photo (so the frame is always filled: no black
//! edges) and both contain the faces chosen for the shot. Being inside the photo and containing
//! a box are linear constraints on a rectangle's edges, so every rectangle on the straight path
//! between the two ends satisfies them too: no frame of the shot can crop a face out.

use memories_vision::faces::FaceBox;

/// An axis-aligned rectangle in a photo's full-resolution, upright pixel coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl From<&FaceBox> for Rect {
    /// The face's box.
    fn from(f: &FaceBox) -> Rect {
        Rect {
            x: f.x,
            y: f.y,
            w: f.w,
            h: f.h,
        }
    }
}

impl Rect {
    pub fn right(&self) -> f32 {
        self.x + self.w
    }

    pub fn bottom(&self) -> f32 {
        self.y + self.h
    }

    fn centre(&self) -> (f32, f32) {
        (self.x + self.w / 2.0, self.y + self.h / 2.0)
    }

    /// Whether `inner` lies inside this rectangle, allowing `slack` pixels of rounding.
    pub fn contains(&self, inner: &Rect, slack: f32) -> bool {
        inner.x >= self.x - slack
            && inner.y >= self.y - slack
            && inner.right() <= self.right() + slack
            && inner.bottom() <= self.bottom() + slack
    }

    fn union(&self, other: &Rect) -> Rect {
        let (x, y) = (self.x.min(other.x), self.y.min(other.y));
        Rect {
            x,
            y,
            w: self.right().max(other.right()) - x,
            h: self.bottom().max(other.bottom()) - y,
        }
    }

    /// The part inside `0..w` x `0..h`.
    fn clipped(&self, w: f32, h: f32) -> Rect {
        let (x, y) = (self.x.clamp(0.0, w), self.y.clamp(0.0, h));
        Rect {
            x,
            y,
            w: (self.right().min(w) - x).max(0.0),
            h: (self.bottom().min(h) - y).max(0.0),
        }
    }

    fn lerp(&self, to: &Rect, t: f32) -> Rect {
        let l = |a: f32, b: f32| a + (b - a) * t;
        Rect {
            x: l(self.x, to.x),
            y: l(self.y, to.y),
            w: l(self.w, to.w),
            h: l(self.h, to.h),
        }
    }
}

/// One shot's motion: from `from` to `to`, eased.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KenBurns {
    pub from: Rect,
    pub to: Rect,
    /// The faces both ends contain (their union); `None` for a photo without faces.
    pub faces: Option<Rect>,
}

/// Smoothstep easing: motion starts and ends at rest, so cuts and crossfades do not jerk.
pub fn ease(t: f32) -> f32 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

impl KenBurns {
    /// The crop at progress `t` (0 at the start of the shot's visible time, 1 at its end).
    pub fn at(&self, t: f32) -> Rect {
        self.from.lerp(&self.to, ease(t))
    }

    /// The narrowest crop width of the shot, which decides how large the photo must be decoded.
    pub fn min_width(&self) -> f32 {
        self.from.w.min(self.to.w)
    }
}

/// Where a shot should move, chosen by the timeline so consecutive shots differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Start wide, end close on the faces (or the photo's point of interest).
    ZoomIn,
    /// Start close on the faces, end wide.
    ZoomOut,
}

/// Plans a shot of a `width` x `height` photo for a frame of `aspect` (width / height).
///
/// `zoom` is the close crop's width as a fraction of the wide crop's (below 1). For a photo
/// without faces the close crop sits at one end of the photo's longer free axis (`toward_end`
/// chooses which), so the shot also pans.
pub fn plan(
    width: u32,
    height: u32,
    faces: &[FaceBox],
    aspect: f32,
    zoom: f32,
    direction: Direction,
    toward_end: bool,
) -> KenBurns {
    let (pw, ph) = (width.max(1) as f32, height.max(1) as f32);
    // The largest crop of the frame's shape that fits: the photo's full width or full height.
    let wide_w = pw.min(ph * aspect);
    let wide_h = wide_w / aspect;
    let faces = face_region(faces, pw, ph, wide_w, wide_h);
    let wide = place(wide_w, wide_h, faces, pw, ph, None);
    let close = match faces {
        Some(f) => {
            // Close enough to feel the zoom, never so close that a face leaves the frame.
            let need = f.w.max(f.h * aspect);
            let close_w = (wide_w * zoom).max(need).min(wide_w);
            place(close_w, close_w / aspect, Some(f), pw, ph, None)
        }
        None => {
            let close_w = wide_w * zoom;
            let close_h = close_w / aspect;
            // Slide along the axis with the most room, to the chosen end.
            let (cx, cy) = if pw - close_w >= ph - close_h {
                (if toward_end { pw } else { 0.0 }, ph / 2.0)
            } else {
                (pw / 2.0, if toward_end { ph } else { 0.0 })
            };
            place(close_w, close_h, None, pw, ph, Some((cx, cy)))
        }
    };
    let (from, to) = match direction {
        Direction::ZoomIn => (wide, close),
        Direction::ZoomOut => (close, wide),
    };
    KenBurns { from, to, faces }
}

/// The faces a shot keeps in frame: the largest face, then each next largest while the union
/// still fits the wide crop, with headroom added around the union when it fits. A crowd wider
/// than the frame keeps its largest (closest) faces rather than none.
fn face_region(faces: &[FaceBox], pw: f32, ph: f32, max_w: f32, max_h: f32) -> Option<Rect> {
    let mut sorted: Vec<Rect> = faces
        .iter()
        .map(|f| Rect::from(f).clipped(pw, ph))
        .filter(|r| r.w > 0.0 && r.h > 0.0)
        .collect();
    // Largest first; ties by position, so the choice does not depend on detector order.
    sorted.sort_by(|a, b| {
        (b.w * b.h)
            .total_cmp(&(a.w * a.h))
            .then(a.x.total_cmp(&b.x))
            .then(a.y.total_cmp(&b.y))
    });
    let mut region: Option<Rect> = None;
    for face in sorted {
        let grown = region.map_or(face, |r| r.union(&face));
        if grown.w <= max_w && grown.h <= max_h {
            region = Some(grown);
        } else if region.is_none() {
            // Even one face is larger than the frame can show: keep its middle.
            return Some(place(max_w, max_h, None, pw, ph, Some(face.centre())));
        }
    }
    let region = region?;
    // Some room around the faces (more above, for hair) looks framed rather than cropped.
    let pad = region.h * 0.25;
    let padded = Rect {
        x: region.x - pad,
        y: region.y - pad * 1.4,
        w: region.w + 2.0 * pad,
        h: region.h + pad * 2.4,
    }
    .clipped(pw, ph);
    Some(if padded.w <= max_w && padded.h <= max_h {
        padded
    } else {
        region
    })
}

/// A `w` x `h` crop inside the photo, centred on `centre` (or on the faces, placed a little
/// above the middle as portraits are framed), moved as little as needed to contain `faces` and
/// then to lie inside the photo. The crop is at least as large as `faces`, and moving a
/// rectangle that contains `faces` into a photo that contains them keeps them contained.
fn place(
    w: f32,
    h: f32,
    faces: Option<Rect>,
    pw: f32,
    ph: f32,
    centre: Option<(f32, f32)>,
) -> Rect {
    let (cx, cy) = match (centre, faces) {
        (Some(c), _) => c,
        (None, Some(f)) => (f.x + f.w / 2.0, f.y + f.h / 2.0 + h * 0.08),
        (None, None) => (pw / 2.0, ph / 2.0),
    };
    let mut x = cx - w / 2.0;
    let mut y = cy - h / 2.0;
    if let Some(f) = faces {
        x = x.min(f.x).max(f.right() - w);
        y = y.min(f.y).max(f.bottom() - h);
    }
    Rect {
        x: x.clamp(0.0, (pw - w).max(0.0)),
        y: y.clamp(0.0, (ph - h).max(0.0)),
        w,
        h,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift, so the property test needs no extra crate and is the same on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> f32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 40) as f32 / (1u64 << 24) as f32
        }
    }

    fn face(x: f32, y: f32, w: f32, h: f32) -> FaceBox {
        FaceBox {
            x,
            y,
            w,
            h,
            score: 0.95,
            landmarks: None,
        }
    }

    #[test]
    fn every_frame_fills_and_keeps_the_faces() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for case in 0..2000 {
            let (pw, ph) = (
                200 + (rng.next() * 4000.0) as u32,
                200 + (rng.next() * 4000.0) as u32,
            );
            let n = (rng.next() * 5.0) as usize;
            let faces: Vec<FaceBox> = (0..n)
                .map(|_| {
                    // Faces up to 60% of the short side, anywhere, sometimes past the edge.
                    let s = 10.0 + rng.next() * 0.6 * pw.min(ph) as f32;
                    let x = rng.next() * pw as f32 - s * 0.2;
                    let y = rng.next() * ph as f32 - s * 0.2;
                    face(x, y, s, s * 1.2)
                })
                .collect();
            let aspect = if case % 2 == 0 { 16.0 / 9.0 } else { 4.0 / 3.0 };
            let direction = if case % 3 == 0 {
                Direction::ZoomIn
            } else {
                Direction::ZoomOut
            };
            let zoom = 0.6 + rng.next() * 0.4;
            let kb = plan(pw, ph, &faces, aspect, zoom, direction, case % 5 == 0);
            let photo = Rect {
                x: 0.0,
                y: 0.0,
                w: pw as f32,
                h: ph as f32,
            };
            for step in 0..=60 {
                let r = kb.at(step as f32 / 60.0);
                let ctx = format!("case {case}: {pw}x{ph} faces {faces:?} step {step}: {r:?}");
                assert!(photo.contains(&r, 0.01), "outside the photo, {ctx}");
                assert!(
                    r.w > 1.0 && (r.w / r.h - aspect).abs() < 1e-3,
                    "shape, {ctx}"
                );
                if let Some(f) = kb.faces {
                    assert!(r.contains(&f, 0.01), "face region cut, {ctx}");
                }
            }
            // The largest face is always among the kept ones.
            if let Some(big) = faces
                .iter()
                .map(|f| Rect::from(f).clipped(pw as f32, ph as f32))
                .filter(|r| r.w > 0.0 && r.h > 0.0)
                .max_by(|a, b| (a.w * a.h).total_cmp(&(b.w * b.h)))
            {
                let frame = kb.at(0.5);
                let fits = big.w <= frame.w && big.h <= frame.h;
                assert!(
                    !fits || frame.contains(&big, 0.01),
                    "case {case}: largest face {big:?} cut by {frame:?}"
                );
            }
        }
    }

    #[test]
    fn zooms_start_or_end_close_on_the_faces() {
        let faces = [face(2600.0, 500.0, 300.0, 380.0)];
        let zoom_in = plan(
            4000,
            3000,
            &faces,
            16.0 / 9.0,
            0.8,
            Direction::ZoomIn,
            false,
        );
        assert_eq!(zoom_in.from.w, 4000.0, "starts on the whole width");
        assert!((zoom_in.to.w - 3200.0).abs() < 0.01);
        let face_centre_x = 2750.0;
        let (cx, _) = zoom_in.to.centre();
        let (wx, _) = zoom_in.from.centre();
        assert!(
            (cx - face_centre_x).abs() < (wx - face_centre_x).abs(),
            "the close end is nearer the face: {zoom_in:?}"
        );
        let zoom_out = plan(
            4000,
            3000,
            &faces,
            16.0 / 9.0,
            0.8,
            Direction::ZoomOut,
            false,
        );
        assert_eq!((zoom_out.from, zoom_out.to), (zoom_in.to, zoom_in.from));
    }

    #[test]
    fn photos_without_faces_pan_along_their_free_axis() {
        // A portrait photo in a landscape frame has room only vertically.
        let kb = plan(3000, 4000, &[], 16.0 / 9.0, 0.8, Direction::ZoomIn, true);
        assert_eq!(kb.from.w, 3000.0);
        assert_eq!(kb.to.bottom(), 4000.0, "ends at the bottom: {kb:?}");
        let kb = plan(3000, 4000, &[], 16.0 / 9.0, 0.8, Direction::ZoomIn, false);
        assert_eq!(kb.to.y, 0.0, "ends at the top: {kb:?}");
    }

    #[test]
    fn easing_rests_at_both_ends() {
        assert_eq!((ease(0.0), ease(0.5), ease(1.0)), (0.0, 0.5, 1.0));
        assert!(ease(0.02) < 0.002 && ease(0.98) > 0.998);
    }
}
