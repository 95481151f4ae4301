//! AVX-512F (with FMA): 16 floats a register, 32 registers.

use super::Simd;
use std::arch::x86_64::*;

#[derive(Clone, Copy)]
struct Avx512(__m512);

// SAFETY (every method): the trait's contract; the CPU has AVX-512F.
impl Simd for Avx512 {
    const WIDTH: usize = 16;
    const QUERIES: usize = 6;
    const PANELS: usize = 4;
    const L2_PANELS: usize = 2;
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        // SAFETY: the trait's contract: the CPU has AVX-512F, pointers hold WIDTH floats.
        unsafe { Avx512(_mm512_set1_ps(x)) }
    }
    #[inline(always)]
    unsafe fn load(from: *const f32) -> Self {
        // SAFETY: the trait's contract: the CPU has AVX-512F, pointers hold WIDTH floats.
        unsafe { Avx512(_mm512_loadu_ps(from)) }
    }
    #[inline(always)]
    unsafe fn load_partial(from: *const f32, n: usize) -> Self {
        // SAFETY: the trait's contract: the CPU has AVX-512F, pointers hold WIDTH floats.
        unsafe { Avx512(_mm512_maskz_loadu_ps(((1u32 << n) - 1) as u16, from)) }
    }
    #[inline(always)]
    unsafe fn store(self, to: *mut f32) {
        // SAFETY: the trait's contract: the CPU has AVX-512F, pointers hold WIDTH floats.
        unsafe { _mm512_storeu_ps(to, self.0) }
    }
    #[inline(always)]
    unsafe fn add(self, other: Self) -> Self {
        // SAFETY: the trait's contract: the CPU has AVX-512F, pointers hold WIDTH floats.
        unsafe { Avx512(_mm512_add_ps(self.0, other.0)) }
    }
    #[inline(always)]
    unsafe fn sum(self) -> f32 {
        // SAFETY: the trait's contract: the CPU has AVX-512F, pointers hold WIDTH floats.
        unsafe { _mm512_reduce_add_ps(self.0) }
    }
    #[inline(always)]
    unsafe fn sub(self, other: Self) -> Self {
        // SAFETY: the trait's contract: the CPU has AVX-512F, pointers hold WIDTH floats.
        unsafe { Avx512(_mm512_sub_ps(self.0, other.0)) }
    }
    #[inline(always)]
    unsafe fn mul(self, other: Self) -> Self {
        // SAFETY: the trait's contract: the CPU has AVX-512F, pointers hold WIDTH floats.
        unsafe { Avx512(_mm512_mul_ps(self.0, other.0)) }
    }
    #[inline(always)]
    unsafe fn mul_add(self, factor: Self, addend: Self) -> Self {
        // SAFETY: the trait's contract: the CPU has AVX-512F, pointers hold WIDTH floats.
        unsafe { Avx512(_mm512_fmadd_ps(self.0, factor.0, addend.0)) }
    }
    #[inline(always)]
    unsafe fn cosine(raw: Self, norm: Self) -> Self {
        // SAFETY: the trait's contract: the CPU has AVX-512F, pointers hold WIDTH floats.
        unsafe {
            let one = _mm512_set1_ps(1.0);
            let zero = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(norm.0, _mm512_setzero_ps());
            let distance = _mm512_sub_ps(one, _mm512_div_ps(raw.0, norm.0));
            Avx512(_mm512_mask_blend_ps(zero, distance, one))
        }
    }
    #[inline(always)]
    unsafe fn admits(self, bound: Self) -> u64 {
        // SAFETY: the trait's contract: the CPU has AVX-512F, pointers hold WIDTH floats.
        unsafe {
            let within = _mm512_cmp_ps_mask::<_CMP_NGT_UQ>(self.0, bound.0);
            let infinite = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(self.0, _mm512_set1_ps(f32::INFINITY));
            u64::from(within | infinite)
        }
    }
    /// 16 dimensions at a time through a 16 x 16 transpose in registers
    /// (a scalar copy costs as much as the kernel for a batch of 100).
    #[inline(always)]
    unsafe fn pack_panel(rows: &[&[f32]], panel: &mut [f32]) {
        let dim = rows[0].len();
        let whole = dim / 16 * 16;
        // SAFETY: `first + 16 <= whole <= dim`, so each load reads inside
        // its row, and each store inside `panel` (`dim` rows of 16); the
        // feature is the caller's promise.
        unsafe {
            for first in (0..whole).step_by(16) {
                let block = std::array::from_fn(|i| _mm512_loadu_ps(rows[i][first..].as_ptr()));
                for (d, column) in transpose(block).into_iter().enumerate() {
                    _mm512_storeu_ps(panel[(first + d) * 16..].as_mut_ptr(), column);
                }
            }
        }
        for d in whole..dim {
            for (lane, row) in rows.iter().enumerate() {
                panel[d * 16 + lane] = row[d];
            }
        }
    }
}

/// Rows to columns: element `j` of row `i` becomes element `i` of row `j`.
/// Interleaves 32-bit pairs, then 64-bit pairs, then 128-bit quarters
/// twice.
///
/// # Safety
/// The CPU has AVX-512F.
#[inline(always)]
unsafe fn transpose(r: [__m512; 16]) -> [__m512; 16] {
    // SAFETY: register shuffles only; the feature is the caller's promise.
    unsafe {
        let ps = |a, b, hi: bool| {
            if hi {
                _mm512_unpackhi_ps(a, b)
            } else {
                _mm512_unpacklo_ps(a, b)
            }
        };
        let pd = |a: __m512, b: __m512, hi: bool| {
            let (a, b) = (_mm512_castps_pd(a), _mm512_castps_pd(b));
            _mm512_castpd_ps(if hi {
                _mm512_unpackhi_pd(a, b)
            } else {
                _mm512_unpacklo_pd(a, b)
            })
        };
        let quarters = |a, b, odd: bool| {
            if odd {
                _mm512_shuffle_f32x4::<0xdd>(a, b)
            } else {
                _mm512_shuffle_f32x4::<0x88>(a, b)
            }
        };
        // t[2i], t[2i+1]: rows 2i and 2i+1 interleaved.
        let t: [__m512; 16] = std::array::from_fn(|i| ps(r[i & !1], r[i | 1], i & 1 == 1));
        // u[4g + c]: column 4L + c of rows 4g..4g+4, in each 128-bit lane L.
        let u: [__m512; 16] = std::array::from_fn(|i| {
            let (g, c) = (i / 4 * 4, i % 4);
            pd(t[g + c / 2], t[g + 2 + c / 2], c % 2 == 1)
        });
        // v[i]: rows 0-7 (i < 8) or 8-15 of two columns per lane pair.
        let v: [__m512; 16] = std::array::from_fn(|i| {
            let g = i / 8 * 8;
            quarters(u[g + i % 4], u[g + 4 + i % 4], i % 8 >= 4)
        });
        // Column j: lanes of v[j % 8] and v[8 + j % 8].
        std::array::from_fn(|j| quarters(v[j % 8], v[8 + j % 8], j >= 8))
    }
}

kernel_set!(Avx512, "avx512f,fma");
