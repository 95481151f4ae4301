//! The portable set: plain Rust, on every target; the baseline every other
//! set is tested against.

use super::generic::{one, pack, tile};
use super::{shape_fits, Kernels, Simd};

/// Whether the portable kernels may fuse multiply-adds: aarch64 always has
/// FMA (elsewhere `mul_add` without hardware support is a slow library call).
const PORTABLE_FMA: bool = cfg!(target_arch = "aarch64");

/// Four floats the compiler keeps in one SSE2 or NEON register.
#[derive(Clone, Copy)]
struct Portable([f32; 4]);

impl Portable {
    #[inline(always)]
    fn map(self, other: Self, f: impl Fn(f32, f32) -> f32) -> Self {
        Portable(std::array::from_fn(|i| f(self.0[i], other.0[i])))
    }
}

// SAFETY (every method): plain Rust; only `load` and `store` touch memory,
// within the `WIDTH` floats the trait's contract guarantees.
impl Simd for Portable {
    const WIDTH: usize = 4;
    const QUERIES: usize = 4;
    const PANELS: usize = 2;
    const L2_PANELS: usize = 1;
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        Portable([x; 4])
    }
    #[inline(always)]
    unsafe fn load(from: *const f32) -> Self {
        // SAFETY: the trait's contract: pointers hold the floats read or written.
        unsafe { Portable(from.cast::<[f32; 4]>().read_unaligned()) }
    }
    #[inline(always)]
    unsafe fn load_partial(from: *const f32, n: usize) -> Self {
        let mut lanes = [0.0; 4];
        // SAFETY: the trait's contract: pointers hold the floats read or written.
        unsafe { std::ptr::copy_nonoverlapping(from, lanes.as_mut_ptr(), n) };
        Portable(lanes)
    }
    #[inline(always)]
    unsafe fn store(self, to: *mut f32) {
        // SAFETY: the trait's contract: pointers hold the floats read or written.
        unsafe { to.cast::<[f32; 4]>().write_unaligned(self.0) }
    }
    #[inline(always)]
    unsafe fn add(self, other: Self) -> Self {
        self.map(other, |a, b| a + b)
    }
    #[inline(always)]
    unsafe fn sum(self) -> f32 {
        (self.0[0] + self.0[2]) + (self.0[1] + self.0[3])
    }
    #[inline(always)]
    unsafe fn sub(self, other: Self) -> Self {
        self.map(other, |a, b| a - b)
    }
    #[inline(always)]
    unsafe fn mul(self, other: Self) -> Self {
        self.map(other, |a, b| a * b)
    }
    #[inline(always)]
    unsafe fn mul_add(self, factor: Self, addend: Self) -> Self {
        if PORTABLE_FMA {
            Portable(std::array::from_fn(|i| {
                self.0[i].mul_add(factor.0[i], addend.0[i])
            }))
        } else {
            self.mul(factor).map(addend, |p, a| a + p)
        }
    }
    #[inline(always)]
    unsafe fn cosine(raw: Self, norm: Self) -> Self {
        raw.map(norm, |r, n| if n == 0.0 { 1.0 } else { 1.0 - r / n })
    }
    #[inline(always)]
    unsafe fn admits(self, bound: Self) -> u64 {
        (0..4).fold(0, |mask, i| {
            let (x, bound) = (self.0[i], bound.0[i]);
            mask | (u64::from(x <= bound || !x.is_finite()) << i)
        })
    }
}

const _: () = assert!(shape_fits::<Portable>());

/// Portable kernels: plain Rust the compiler vectorises (SSE2 on x86_64).
pub(super) const KERNELS: Kernels = Kernels {
    name: "portable",
    // SAFETY: the portable type needs no CPU feature.
    dot: |a, b| unsafe { one::<Portable, false>(a, b) },
    // SAFETY: as above.
    l2: |a, b| unsafe { one::<Portable, true>(a, b) },
    block: Portable::WIDTH * Portable::PANELS,
    tile_queries: Portable::QUERIES,
    // SAFETY: as above.
    tile: |input, distances, within| unsafe {
        tile::<Portable, { Portable::PANELS }, { Portable::L2_PANELS }>(input, distances, within)
    },
    // SAFETY: as above.
    pack: |rows, packed| unsafe { pack::<Portable>(rows, packed) },
};
