//! An owned NHWC f32 tensor with N = 1: the interpreter's values and its inputs and outputs.

use nnc_ir::Shape;

/// Height x width x channels, stored row by row with channels innermost.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub h: usize,
    pub w: usize,
    pub c: usize,
    /// `h * w * c` values; the value at `(y, x, c)` is at `(y * w + x) * c + c`.
    pub data: Vec<f32>,
}

impl Tensor {
    /// A tensor of zeros.
    pub fn zeros(shape: Shape) -> Tensor {
        Tensor {
            h: shape.h,
            w: shape.w,
            c: shape.c,
            data: vec![0.0; shape.len()],
        }
    }

    /// Wraps `data`, which must hold exactly `shape.len()` values.
    ///
    /// # Panics
    /// When `data` has another length: that is a bug in the caller, not bad input.
    pub fn from_vec(shape: Shape, data: Vec<f32>) -> Tensor {
        assert_eq!(
            data.len(),
            shape.len(),
            "data length does not match shape {shape}"
        );
        Tensor {
            h: shape.h,
            w: shape.w,
            c: shape.c,
            data,
        }
    }

    /// The tensor's shape.
    pub fn shape(&self) -> Shape {
        Shape {
            h: self.h,
            w: self.w,
            c: self.c,
        }
    }

    /// The value at row `y`, column `x`, channel `c`.
    pub fn at(&self, y: usize, x: usize, c: usize) -> f32 {
        self.data[(y * self.w + x) * self.c + c]
    }
}
