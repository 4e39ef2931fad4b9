//! A sliding window's geometry, per axis, in one const parameter.
//!
//! Stable Rust takes only integers as const generics, so the convolution and pooling kernels take
//! their window as one `u64`, [`Geometry::pack`]ed by the generated code (`{
//! Geometry::square(3, 1, 1).pack() }`, or the struct written out, in the call's generic
//! arguments) and unpacked inside the kernel in a `const` block, so every field is still a
//! constant to the compiler. Each field has eight bits; the IR's limits
//! on windows (`nnc_ir::lower::MAX_WINDOW`) keep them below 256.

/// Kernel size, stride, padding (the same before and after) and dilation, for rows and columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Kernel rows and columns.
    pub kh: usize,
    pub kw: usize,
    /// Step between windows, in rows and in columns.
    pub sh: usize,
    pub sw: usize,
    /// Zero rows above and below, zero columns left and right.
    pub ph: usize,
    pub pw: usize,
    /// Step between a kernel's taps, in rows and in columns (1: adjacent).
    pub dh: usize,
    pub dw: usize,
}

impl Geometry {
    /// A `k x k` window, the same stride and padding along both axes, undilated.
    #[inline]
    pub const fn square(k: usize, stride: usize, pad: usize) -> Geometry {
        Geometry {
            kh: k,
            kw: k,
            sh: stride,
            sw: stride,
            ph: pad,
            pw: pad,
            dh: 1,
            dw: 1,
        }
    }

    /// Every field in a byte of its own, `kh` lowest.
    #[inline]
    pub const fn pack(self) -> u64 {
        let fields = [
            self.kh, self.kw, self.sh, self.sw, self.ph, self.pw, self.dh, self.dw,
        ];
        let mut packed = 0u64;
        let mut i = 0;
        while i < fields.len() {
            assert!(fields[i] < 256, "a window field above 255");
            packed |= (fields[i] as u64) << (8 * i);
            i += 1;
        }
        packed
    }

    /// The geometry [`Geometry::pack`] packed.
    #[inline]
    pub const fn unpack(packed: u64) -> Geometry {
        Geometry {
            kh: byte(packed, 0),
            kw: byte(packed, 1),
            sh: byte(packed, 2),
            sw: byte(packed, 3),
            ph: byte(packed, 4),
            pw: byte(packed, 5),
            dh: byte(packed, 6),
            dw: byte(packed, 7),
        }
    }

    /// Kernel taps: `kh * kw`.
    #[inline]
    pub const fn taps(&self) -> usize {
        self.kh * self.kw
    }

    /// Output rows for `h` input rows.
    #[inline]
    pub const fn out_h(&self, h: usize) -> usize {
        out_len(h, span(self.kh, self.dh), self.sh, self.ph)
    }

    /// Output columns for `w` input columns.
    #[inline]
    pub const fn out_w(&self, w: usize) -> usize {
        out_len(w, span(self.kw, self.dw), self.sw, self.pw)
    }

    /// The padded-input row that output row `oy`'s tap row `ky` reads (subtract `ph` for the
    /// input row).
    #[inline(always)]
    pub const fn row(&self, oy: usize, ky: usize) -> usize {
        oy * self.sh + ky * self.dh
    }

    /// The padded-input column that output column `ox`'s tap column `kx` reads (subtract `pw`
    /// for the input column).
    #[inline(always)]
    pub const fn col(&self, ox: usize, kx: usize) -> usize {
        ox * self.sw + kx * self.dw
    }
}

/// Byte `i` of `packed`.
#[inline]
const fn byte(packed: u64, i: u32) -> usize {
    ((packed >> (8 * i)) & 0xff) as usize
}

/// Input pixels one window covers along an axis: `dilation * (kernel - 1) + 1`.
#[inline]
pub const fn span(kernel: usize, dilation: usize) -> usize {
    dilation * (kernel - 1) + 1
}

/// Output length along one axis, for a window covering `span` input pixels.
#[inline]
pub const fn out_len(input: usize, span: usize, stride: usize, pad: usize) -> usize {
    (input + 2 * pad - span) / stride + 1
}

/// Whether output position `(y, x)` has every tap inside the input (no padding read), for the
/// packed geometry `G` over an `H x W` input.
#[inline(always)]
pub(super) fn interior<const H: usize, const W: usize, const G: u64>()
-> impl Fn(usize, usize) -> bool {
    let g = const { Geometry::unpack(G) };
    // Per axis, the positions [lo, hi).
    let range = |len: usize, k: usize, d: usize, s: usize, p: usize| {
        let span = span(k, d);
        let hi = if len + p >= span {
            ((len + p - span) / s + 1).min(out_len(len, span, s, p))
        } else {
            0
        };
        (p.div_ceil(s), hi)
    };
    let (y_lo, y_hi) = range(H, g.kh, g.dh, g.sh, g.ph);
    let (x_lo, x_hi) = range(W, g.kw, g.dw, g.sw, g.pw);
    move |y, x| y >= y_lo && y < y_hi && x >= x_lo && x < x_hi
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_keeps_every_field() {
        let g = Geometry {
            kh: 1,
            kw: 255,
            sh: 2,
            sw: 3,
            ph: 0,
            pw: 4,
            dh: 5,
            dw: 6,
        };
        assert_eq!(Geometry::unpack(g.pack()), g);
        assert_eq!(Geometry::unpack(Geometry::square(3, 1, 1).pack()).taps(), 9);
    }

    #[test]
    fn interior_positions_read_no_padding() {
        // 3x1 kernel dilated by 2 along rows, stride 2 along columns, padding 2 rows and 1 column.
        const G: u64 = Geometry {
            kh: 3,
            kw: 1,
            sh: 1,
            sw: 2,
            ph: 2,
            pw: 1,
            dh: 2,
            dw: 1,
        }
        .pack();
        let g = Geometry::unpack(G);
        let inside = interior::<7, 6, G>();
        for oy in 0..g.out_h(7) {
            for ox in 0..g.out_w(6) {
                let reads_padding = (0..g.kh).any(|ky| {
                    let r = g.row(oy, ky);
                    r < g.ph || r - g.ph >= 7
                }) || (0..g.kw).any(|kx| {
                    let c = g.col(ox, kx);
                    c < g.pw || c - g.pw >= 6
                });
                assert_eq!(inside(oy, ox), !reads_padding, "({oy}, {ox})");
            }
        }
    }
}
