//! NEON (aarch64): 4 floats a register, 32 registers.

use super::Simd;
use std::arch::aarch64::*;

#[derive(Clone, Copy)]
struct Neon(float32x4_t);

// SAFETY (every method): the trait's contract; the CPU has NEON.
impl Simd for Neon {
    const WIDTH: usize = 4;
    // 32 registers, as with AVX-512: the same 6 x 4 tile of accumulators,
    // four panel registers and a broadcast.
    const QUERIES: usize = 6;
    const PANELS: usize = 4;
    const L2_PANELS: usize = 2;
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        // SAFETY: the trait's contract: the CPU has NEON, pointers hold WIDTH floats.
        unsafe { Neon(vdupq_n_f32(x)) }
    }
    #[inline(always)]
    unsafe fn load(from: *const f32) -> Self {
        // SAFETY: the trait's contract: the CPU has NEON, pointers hold WIDTH floats.
        unsafe { Neon(vld1q_f32(from)) }
    }
    #[inline(always)]
    unsafe fn load_partial(from: *const f32, n: usize) -> Self {
        let mut lanes = [0.0f32; 4];
        // SAFETY: the trait's contract: the CPU has NEON, pointers hold WIDTH floats.
        unsafe {
            std::ptr::copy_nonoverlapping(from, lanes.as_mut_ptr(), n);
            Neon(vld1q_f32(lanes.as_ptr()))
        }
    }
    #[inline(always)]
    unsafe fn store(self, to: *mut f32) {
        // SAFETY: the trait's contract: the CPU has NEON, pointers hold WIDTH floats.
        unsafe { vst1q_f32(to, self.0) }
    }
    #[inline(always)]
    unsafe fn add(self, other: Self) -> Self {
        // SAFETY: the trait's contract: the CPU has NEON, pointers hold WIDTH floats.
        unsafe { Neon(vaddq_f32(self.0, other.0)) }
    }
    #[inline(always)]
    unsafe fn sum(self) -> f32 {
        // SAFETY: the trait's contract: the CPU has NEON, pointers hold WIDTH floats.
        unsafe { vaddvq_f32(self.0) }
    }
    #[inline(always)]
    unsafe fn sub(self, other: Self) -> Self {
        // SAFETY: the trait's contract: the CPU has NEON, pointers hold WIDTH floats.
        unsafe { Neon(vsubq_f32(self.0, other.0)) }
    }
    #[inline(always)]
    unsafe fn mul(self, other: Self) -> Self {
        // SAFETY: the trait's contract: the CPU has NEON, pointers hold WIDTH floats.
        unsafe { Neon(vmulq_f32(self.0, other.0)) }
    }
    #[inline(always)]
    unsafe fn mul_add(self, factor: Self, addend: Self) -> Self {
        // SAFETY: the trait's contract: the CPU has NEON, pointers hold WIDTH floats.
        unsafe { Neon(vfmaq_f32(addend.0, self.0, factor.0)) }
    }
    #[inline(always)]
    unsafe fn cosine(raw: Self, norm: Self) -> Self {
        // SAFETY: the trait's contract: the CPU has NEON, pointers hold WIDTH floats.
        unsafe {
            let one = vdupq_n_f32(1.0);
            let zero = vceqzq_f32(norm.0);
            let distance = vsubq_f32(one, vdivq_f32(raw.0, norm.0));
            Neon(vbslq_f32(zero, one, distance))
        }
    }
    #[inline(always)]
    unsafe fn admits(self, bound: Self) -> u64 {
        // "Not greater" is true for NaN lanes too, as the trait asks.
        const BITS: [u32; 4] = [1, 2, 4, 8];
        // SAFETY: the trait's contract: the CPU has NEON, pointers hold WIDTH floats.
        unsafe {
            let within = vmvnq_u32(vcgtq_f32(self.0, bound.0));
            let infinite = vceqq_f32(self.0, vdupq_n_f32(f32::INFINITY));
            let lanes = vandq_u32(vorrq_u32(within, infinite), vld1q_u32(BITS.as_ptr()));
            u64::from(vaddvq_u32(lanes))
        }
    }
}

kernel_set!(Neon, "neon");
