//! AVX2 with FMA: 8 floats a register, 16 registers.

use super::Simd;
use std::arch::x86_64::*;

#[derive(Clone, Copy)]
struct Avx2(__m256);

// SAFETY (every method): the trait's contract; the CPU has AVX2 and FMA.
impl Simd for Avx2 {
    const WIDTH: usize = 8;
    const QUERIES: usize = 4;
    const PANELS: usize = 2;
    const L2_PANELS: usize = 1;
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        // SAFETY: the trait's contract: the CPU has AVX2 and FMA, pointers hold WIDTH floats.
        unsafe { Avx2(_mm256_set1_ps(x)) }
    }
    #[inline(always)]
    unsafe fn load(from: *const f32) -> Self {
        // SAFETY: the trait's contract: the CPU has AVX2 and FMA, pointers hold WIDTH floats.
        unsafe { Avx2(_mm256_loadu_ps(from)) }
    }
    #[inline(always)]
    unsafe fn load_partial(from: *const f32, n: usize) -> Self {
        // SAFETY: the trait's contract: the CPU has AVX2 and FMA, pointers hold WIDTH floats.
        unsafe {
            let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            let mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), lanes);
            Avx2(_mm256_maskload_ps(from, mask))
        }
    }
    #[inline(always)]
    unsafe fn store(self, to: *mut f32) {
        // SAFETY: the trait's contract: the CPU has AVX2 and FMA, pointers hold WIDTH floats.
        unsafe { _mm256_storeu_ps(to, self.0) }
    }
    #[inline(always)]
    unsafe fn add(self, other: Self) -> Self {
        // SAFETY: the trait's contract: the CPU has AVX2 and FMA, pointers hold WIDTH floats.
        unsafe { Avx2(_mm256_add_ps(self.0, other.0)) }
    }
    #[inline(always)]
    unsafe fn sum(self) -> f32 {
        // SAFETY: the trait's contract: the CPU has AVX2 and FMA, pointers hold WIDTH floats.
        unsafe {
            let x = self.0;
            let s = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps::<1>(x));
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps::<1>(s, s)))
        }
    }
    #[inline(always)]
    unsafe fn sub(self, other: Self) -> Self {
        // SAFETY: the trait's contract: the CPU has AVX2 and FMA, pointers hold WIDTH floats.
        unsafe { Avx2(_mm256_sub_ps(self.0, other.0)) }
    }
    #[inline(always)]
    unsafe fn mul(self, other: Self) -> Self {
        // SAFETY: the trait's contract: the CPU has AVX2 and FMA, pointers hold WIDTH floats.
        unsafe { Avx2(_mm256_mul_ps(self.0, other.0)) }
    }
    #[inline(always)]
    unsafe fn mul_add(self, factor: Self, addend: Self) -> Self {
        // SAFETY: the trait's contract: the CPU has AVX2 and FMA, pointers hold WIDTH floats.
        unsafe { Avx2(_mm256_fmadd_ps(self.0, factor.0, addend.0)) }
    }
    #[inline(always)]
    unsafe fn cosine(raw: Self, norm: Self) -> Self {
        // SAFETY: the trait's contract: the CPU has AVX2 and FMA, pointers hold WIDTH floats.
        unsafe {
            let one = _mm256_set1_ps(1.0);
            let zero = _mm256_cmp_ps::<_CMP_EQ_OQ>(norm.0, _mm256_setzero_ps());
            let distance = _mm256_sub_ps(one, _mm256_div_ps(raw.0, norm.0));
            Avx2(_mm256_blendv_ps(distance, one, zero))
        }
    }
    #[inline(always)]
    unsafe fn admits(self, bound: Self) -> u64 {
        // SAFETY: the trait's contract: the CPU has AVX2 and FMA, pointers hold WIDTH floats.
        unsafe {
            let within = _mm256_cmp_ps::<_CMP_NGT_UQ>(self.0, bound.0);
            let infinite = _mm256_cmp_ps::<_CMP_EQ_OQ>(self.0, _mm256_set1_ps(f32::INFINITY));
            u64::from(_mm256_movemask_ps(_mm256_or_ps(within, infinite)) as u8)
        }
    }
}

kernel_set!(Avx2, "avx2,fma");
