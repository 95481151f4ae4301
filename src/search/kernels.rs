//! Distance kernels, compiled for the CPU's widest vector unit (AVX-512,
//! AVX2+FMA or NEON, chosen at run time). A portable set in plain Rust is the
//! fallback and the baseline every other set is tested against.
//!
//! Two shapes, because one query and many queries are limited by different
//! things:
//!
//! - `dot` / `l2`: one query against one vector read straight from its
//!   mapping. A single query does one multiply-add per float it loads, so its
//!   scan is bound by memory; these kernels only need to keep up with it.
//! - `tile`: a tile of queries against a block of vectors packed
//!   dimension-major in *panels* (lane `i` of row `d` holds element `d` of
//!   vector `i`). Each step loads one register per panel, broadcasts one
//!   element of each query and does queries × panels independent
//!   multiply-adds held in registers: the register blocking of a matrix
//!   multiply, bound by the FMA units instead of by loads.
//!
//! All `unsafe` of the search lives here: the SIMD intrinsics.

use super::Metric;

/// One SIMD register of `WIDTH` floats: what the kernels need of it.
///
/// Callers must run on a CPU with the implementing type's features and pass
/// pointers valid for `WIDTH` floats; the methods are `unsafe` for that.
trait Simd: Copy {
    const WIDTH: usize;
    /// Queries per tile and panels per block: chosen so the accumulators,
    /// the panel registers and a temporary fit the register file.
    const QUERIES: usize;
    const PANELS: usize;
    const L2_PANELS: usize;
    unsafe fn splat(x: f32) -> Self;
    unsafe fn load(from: *const f32) -> Self;
    /// The first `n` (< `WIDTH`) floats from `from`, zeros after them.
    unsafe fn load_partial(from: *const f32, n: usize) -> Self;
    unsafe fn store(self, to: *mut f32);
    unsafe fn add(self, other: Self) -> Self;
    unsafe fn sub(self, other: Self) -> Self;
    unsafe fn mul(self, other: Self) -> Self;
    /// `self * factor + addend`, fused where the CPU can.
    unsafe fn mul_add(self, factor: Self, addend: Self) -> Self;
    /// `1 - raw / norm`, and 1 where `norm` is 0: the scalar cosine distance.
    unsafe fn cosine(raw: Self, norm: Self) -> Self;
    /// The sum of the lanes.
    unsafe fn sum(self) -> f32;
    /// Bit `i` set when lane `i` of `self` is at most lane `i` of `bound`,
    /// or not finite (an overflow, which the caller recomputes in f64).
    unsafe fn admits(self, bound: Self) -> u64;
    /// Writes `WIDTH` vectors into one panel: row `d` holds element `d` of
    /// each.
    ///
    /// # Safety
    /// As for the trait, and `rows` holds `WIDTH` slices of
    /// `panel.len() / WIDTH` floats each.
    unsafe fn pack_panel(rows: &[&[f32]], panel: &mut [f32]) {
        for (lane, row) in rows.iter().enumerate() {
            for (d, x) in row.iter().enumerate() {
                panel[d * Self::WIDTH + lane] = *x;
            }
        }
    }
}

// ---- one query, one vector -------------------------------------------------

/// One query against one vector: the sum of products, or of squared
/// differences when `L2`. Four accumulators, so four FMA chains overlap.
///
/// # Safety
/// The CPU has `S`'s features.
#[inline(always)]
unsafe fn one<S: Simd, const L2: bool>(q: &[f32], v: &[f32]) -> f32 {
    assert_eq!(q.len(), v.len());
    let (n, w) = (q.len(), S::WIDTH);
    let (q, v) = (q.as_ptr(), v.as_ptr());
    let step = |acc: S, x: S, y: S| {
        if L2 {
            let diff = x.sub(y);
            diff.mul_add(diff, acc)
        } else {
            x.mul_add(y, acc)
        }
    };
    // SAFETY: every load stays below `n`; the features are the caller's.
    unsafe {
        let mut acc = [S::splat(0.0); 4];
        let mut i = 0;
        while i + 4 * w <= n {
            for (c, sum) in acc.iter_mut().enumerate() {
                let at = i + c * w;
                *sum = step(*sum, S::load(q.add(at)), S::load(v.add(at)));
            }
            i += 4 * w;
        }
        while i + w <= n {
            acc[0] = step(acc[0], S::load(q.add(i)), S::load(v.add(i)));
            i += w;
        }
        if i < n {
            let (x, y) = (
                S::load_partial(q.add(i), n - i),
                S::load_partial(v.add(i), n - i),
            );
            acc[1] = step(acc[1], x, y);
        }
        acc[0].add(acc[1]).add(acc[2].add(acc[3])).sum()
    }
}

// ---- a tile of queries, a block of packed vectors --------------------------

/// Most queries one tile call takes (the AVX-512 tile height).
pub(super) const MAX_TILE_QUERIES: usize = 6;

/// The inputs of one tile call; `tile` checks every length.
pub(super) struct Tile<'a> {
    /// `count` queries, row-major, `dim` floats each.
    pub queries: &'a [f32],
    /// Each query's Euclidean norm (cosine only).
    pub query_norms: &'a [f32],
    /// Each query's admission bound: a lane is reported when its distance is
    /// at most this.
    pub bounds: &'a [f32],
    /// One block of vectors in panels: `block / lanes` panels of `dim` rows
    /// of `lanes` floats.
    pub packed: &'a [f32],
    /// Each packed vector's Euclidean norm (cosine only).
    pub vector_norms: &'a [f32],
    pub dim: usize,
    pub metric: Metric,
}

/// Sums over the dimensions for `Q` queries and `P` panels: inner products,
/// or squared differences when `L2`.
///
/// # Safety
/// The CPU has `S`'s features; `queries` holds `Q * dim` floats and `packed`
/// `P * dim * S::WIDTH`.
#[inline(always)]
unsafe fn accumulate<S: Simd, const Q: usize, const P: usize, const L2: bool>(
    queries: *const f32,
    packed: *const f32,
    dim: usize,
) -> [[S; P]; Q] {
    // SAFETY: every offset is below the lengths the caller guarantees.
    unsafe {
        let mut acc = [[S::splat(0.0); P]; Q];
        for d in 0..dim {
            let mut rows = [S::splat(0.0); P];
            for (p, row) in rows.iter_mut().enumerate() {
                *row = S::load(packed.add((p * dim + d) * S::WIDTH));
            }
            for (q, sums) in acc.iter_mut().enumerate() {
                let x = S::splat(*queries.add(q * dim + d));
                for (sum, row) in sums.iter_mut().zip(rows) {
                    *sum = if L2 {
                        let diff = row.sub(x);
                        diff.mul_add(diff, *sum)
                    } else {
                        row.mul_add(x, *sum)
                    };
                }
            }
        }
        acc
    }
}

/// Turns the sums of `Q` queries × `PP` panels, from panel `first` on, into
/// distances: writes them to `distances` (`Q` rows of `block` lanes) and
/// adds the lanes within each query's bound to `within`.
///
/// # Safety
/// As for [`accumulate`]; `tile` has checked the lengths.
#[inline(always)]
unsafe fn finish<S: Simd, const Q: usize, const PP: usize>(
    sums: [[S; PP]; Q],
    first: usize,
    block: usize,
    input: &Tile<'_>,
    distances: &mut [f32],
    within: &mut [u64],
) {
    // SAFETY: the caller's lengths cover every access below.
    unsafe {
        for (q, sums) in sums.iter().enumerate() {
            let bound = S::splat(input.bounds[q]);
            for (p, raw) in (first..).zip(sums) {
                let distance = match input.metric {
                    Metric::L2 => *raw,
                    // Multiplying by -1 is an exact negation, as `-raw` is.
                    Metric::Dot => raw.mul(S::splat(-1.0)),
                    Metric::Cosine => {
                        let norms = S::load(input.vector_norms.as_ptr().add(p * S::WIDTH));
                        S::cosine(*raw, norms.mul(S::splat(input.query_norms[q])))
                    }
                };
                distance.store(distances.as_mut_ptr().add(q * block + p * S::WIDTH));
                within[q] |= distance.admits(bound) << (p * S::WIDTH);
            }
        }
    }
}

/// `Q` queries against one block of `P` panels, `PL2` panels at a time for
/// L2 (a squared difference needs a temporary per pair, so fewer
/// accumulators fit the registers).
///
/// # Safety
/// As for [`accumulate`]; `tile` has checked the lengths.
#[inline(always)]
unsafe fn tile_of<S: Simd, const Q: usize, const P: usize, const PL2: usize>(
    input: &Tile<'_>,
    distances: &mut [f32],
    within: &mut [u64],
) {
    let (queries, packed, dim) = (input.queries.as_ptr(), input.packed.as_ptr(), input.dim);
    let block = P * S::WIDTH;
    within[..Q].fill(0);
    // SAFETY: the caller's lengths cover every access below.
    unsafe {
        if input.metric == Metric::L2 {
            for first in (0..P).step_by(PL2) {
                let panels = packed.add(first * dim * S::WIDTH);
                let sums = accumulate::<S, Q, PL2, true>(queries, panels, dim);
                finish(sums, first, block, input, distances, within);
            }
        } else {
            let sums = accumulate::<S, Q, P, false>(queries, packed, dim);
            finish(sums, 0, block, input, distances, within);
        }
    }
}

/// [`tile_of`] for `count` (1 to `S::QUERIES`) queries.
///
/// # Safety
/// The CPU has `S`'s features.
#[inline(always)]
unsafe fn tile<S: Simd, const P: usize, const PL2: usize>(
    input: &Tile<'_>,
    distances: &mut [f32],
    within: &mut [u64],
) {
    let count = input.bounds.len();
    let block = P * S::WIDTH;
    assert!((1..=S::QUERIES).contains(&count) && P.is_multiple_of(PL2));
    assert!(input.queries.len() == count * input.dim && input.query_norms.len() == count);
    assert!(input.packed.len() == block * input.dim && input.vector_norms.len() == block);
    assert!(distances.len() >= count * block && within.len() >= count);
    // SAFETY: lengths checked above; the features are the caller's promise.
    unsafe {
        macro_rules! by_count {
            ($($q:literal)*) => {
                match count {
                    $($q => tile_of::<S, $q, P, PL2>(input, distances, within),)*
                    _ => unreachable!("checked above"),
                }
            };
        }
        by_count!(1 2 3 4 5 6)
    }
}

/// Packs a block: `rows` (one vector per lane, `dim` floats each) into
/// `packed`, panel after panel.
///
/// # Safety
/// The CPU has `S`'s features.
#[inline(always)]
unsafe fn pack<S: Simd>(rows: &[&[f32]], packed: &mut [f32]) {
    let dim = packed.len() / rows.len().max(1);
    assert!(rows.len().is_multiple_of(S::WIDTH) && packed.len() == rows.len() * dim);
    assert!(rows.iter().all(|row| row.len() == dim));
    for (lanes, panel) in rows
        .chunks_exact(S::WIDTH)
        .zip(packed.chunks_exact_mut(dim * S::WIDTH))
    {
        // SAFETY: lengths checked above; the features are the caller's promise.
        unsafe { S::pack_panel(lanes, panel) }
    }
}

/// Asks the CPU to start loading `bytes` into cache (a hint: no effect on
/// results, none at all off x86_64).
#[inline]
pub(super) fn prefetch(bytes: &[u8]) {
    // Every 64-byte line the bytes touch: slots are not line-aligned.
    #[cfg(target_arch = "x86_64")]
    {
        let skew = bytes.as_ptr() as usize % 64;
        for offset in (0..skew + bytes.len()).step_by(64) {
            let line = bytes.as_ptr().wrapping_sub(skew).wrapping_add(offset);
            // SAFETY: a prefetch never faults and reads nothing into the
            // program; SSE is part of x86_64.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(line.cast())
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

// ---- instruction sets ------------------------------------------------------

/// Whether a register type's tile shape fits the scan: a block's lanes in
/// one `u64` mask, a tile's queries in `MAX_TILE_QUERIES`, L2's panel groups
/// dividing the block.
const fn shape_fits<S: Simd>() -> bool {
    S::WIDTH * S::PANELS <= 64
        && S::QUERIES <= MAX_TILE_QUERIES
        && S::PANELS.is_multiple_of(S::L2_PANELS)
}

/// Kernels for one instruction set.
pub(super) struct Kernels {
    pub name: &'static str,
    pub dot: fn(&[f32], &[f32]) -> f32,
    pub l2: fn(&[f32], &[f32]) -> f32,
    /// Vectors per packed block (at most 64: one bit each in a mask).
    pub block: usize,
    /// Most queries per `tile` call.
    pub tile_queries: usize,
    pub tile: fn(&Tile<'_>, &mut [f32], &mut [u64]),
    /// Packs `block` vectors (repeat one to fill a partial block) for `tile`.
    pub pack: fn(&[&[f32]], &mut [f32]),
}

/// Defines a kernel set whose bodies are compiled with `features` on, as
/// module `$set` inside an architecture's module.
macro_rules! kernel_set {
    ($set:ident, $simd:ty, $features:literal) => {
        pub(super) mod $set {
            use super::super::{one, pack, tile, Kernels, Simd, Tile};

            #[target_feature(enable = $features)]
            unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
                // SAFETY: this function runs only with `$features` on.
                unsafe { one::<$simd, false>(a, b) }
            }
            #[target_feature(enable = $features)]
            unsafe fn l2(a: &[f32], b: &[f32]) -> f32 {
                // SAFETY: as above.
                unsafe { one::<$simd, true>(a, b) }
            }
            #[target_feature(enable = $features)]
            unsafe fn tile_here(input: &Tile<'_>, distances: &mut [f32], within: &mut [u64]) {
                // SAFETY: this function runs only with `$features` on.
                unsafe {
                    tile::<$simd, { <$simd as Simd>::PANELS }, { <$simd as Simd>::L2_PANELS }>(
                        input, distances, within,
                    )
                }
            }
            #[target_feature(enable = $features)]
            unsafe fn pack_here(rows: &[&[f32]], packed: &mut [f32]) {
                // SAFETY: this function runs only with `$features` on.
                unsafe { pack::<$simd>(rows, packed) }
            }
            const _: () = assert!(super::super::shape_fits::<$simd>());

            /// Only handed out after the CPU was found to have `features`.
            pub(in super::super) const KERNELS: Kernels = Kernels {
                name: $features,
                // SAFETY (all four): `runnable()` hands this set out only
                // after run-time detection confirmed every feature.
                dot: |a, b| unsafe { dot(a, b) },
                l2: |a, b| unsafe { l2(a, b) },
                block: <$simd as Simd>::WIDTH * <$simd as Simd>::PANELS,
                tile_queries: <$simd as Simd>::QUERIES,
                tile: |input, distances, within| unsafe { tile_here(input, distances, within) },
                pack: |rows, packed| unsafe { pack_here(rows, packed) },
            };
        }
    };
}

#[cfg(target_arch = "x86_64")]
mod x86 {
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
            unsafe { Avx512(_mm512_set1_ps(x)) }
        }
        #[inline(always)]
        unsafe fn load(from: *const f32) -> Self {
            unsafe { Avx512(_mm512_loadu_ps(from)) }
        }
        #[inline(always)]
        unsafe fn load_partial(from: *const f32, n: usize) -> Self {
            unsafe { Avx512(_mm512_maskz_loadu_ps(((1u32 << n) - 1) as u16, from)) }
        }
        #[inline(always)]
        unsafe fn store(self, to: *mut f32) {
            unsafe { _mm512_storeu_ps(to, self.0) }
        }
        #[inline(always)]
        unsafe fn add(self, other: Self) -> Self {
            unsafe { Avx512(_mm512_add_ps(self.0, other.0)) }
        }
        #[inline(always)]
        unsafe fn sum(self) -> f32 {
            unsafe { _mm512_reduce_add_ps(self.0) }
        }
        #[inline(always)]
        unsafe fn sub(self, other: Self) -> Self {
            unsafe { Avx512(_mm512_sub_ps(self.0, other.0)) }
        }
        #[inline(always)]
        unsafe fn mul(self, other: Self) -> Self {
            unsafe { Avx512(_mm512_mul_ps(self.0, other.0)) }
        }
        #[inline(always)]
        unsafe fn mul_add(self, factor: Self, addend: Self) -> Self {
            unsafe { Avx512(_mm512_fmadd_ps(self.0, factor.0, addend.0)) }
        }
        #[inline(always)]
        unsafe fn cosine(raw: Self, norm: Self) -> Self {
            unsafe {
                let one = _mm512_set1_ps(1.0);
                let zero = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(norm.0, _mm512_setzero_ps());
                let distance = _mm512_sub_ps(one, _mm512_div_ps(raw.0, norm.0));
                Avx512(_mm512_mask_blend_ps(zero, distance, one))
            }
        }
        #[inline(always)]
        unsafe fn admits(self, bound: Self) -> u64 {
            unsafe {
                let within = _mm512_cmp_ps_mask::<_CMP_NGT_UQ>(self.0, bound.0);
                let infinite =
                    _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(self.0, _mm512_set1_ps(f32::INFINITY));
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
            unsafe { Avx2(_mm256_set1_ps(x)) }
        }
        #[inline(always)]
        unsafe fn load(from: *const f32) -> Self {
            unsafe { Avx2(_mm256_loadu_ps(from)) }
        }
        #[inline(always)]
        unsafe fn load_partial(from: *const f32, n: usize) -> Self {
            unsafe {
                let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
                let mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), lanes);
                Avx2(_mm256_maskload_ps(from, mask))
            }
        }
        #[inline(always)]
        unsafe fn store(self, to: *mut f32) {
            unsafe { _mm256_storeu_ps(to, self.0) }
        }
        #[inline(always)]
        unsafe fn add(self, other: Self) -> Self {
            unsafe { Avx2(_mm256_add_ps(self.0, other.0)) }
        }
        #[inline(always)]
        unsafe fn sum(self) -> f32 {
            unsafe {
                let x = self.0;
                let s = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps::<1>(x));
                let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
                _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps::<1>(s, s)))
            }
        }
        #[inline(always)]
        unsafe fn sub(self, other: Self) -> Self {
            unsafe { Avx2(_mm256_sub_ps(self.0, other.0)) }
        }
        #[inline(always)]
        unsafe fn mul(self, other: Self) -> Self {
            unsafe { Avx2(_mm256_mul_ps(self.0, other.0)) }
        }
        #[inline(always)]
        unsafe fn mul_add(self, factor: Self, addend: Self) -> Self {
            unsafe { Avx2(_mm256_fmadd_ps(self.0, factor.0, addend.0)) }
        }
        #[inline(always)]
        unsafe fn cosine(raw: Self, norm: Self) -> Self {
            unsafe {
                let one = _mm256_set1_ps(1.0);
                let zero = _mm256_cmp_ps::<_CMP_EQ_OQ>(norm.0, _mm256_setzero_ps());
                let distance = _mm256_sub_ps(one, _mm256_div_ps(raw.0, norm.0));
                Avx2(_mm256_blendv_ps(distance, one, zero))
            }
        }
        #[inline(always)]
        unsafe fn admits(self, bound: Self) -> u64 {
            unsafe {
                let within = _mm256_cmp_ps::<_CMP_NGT_UQ>(self.0, bound.0);
                let infinite = _mm256_cmp_ps::<_CMP_EQ_OQ>(self.0, _mm256_set1_ps(f32::INFINITY));
                u64::from(_mm256_movemask_ps(_mm256_or_ps(within, infinite)) as u8)
            }
        }
    }

    kernel_set!(avx512, super::Avx512, "avx512f,fma");
    kernel_set!(avx2, super::Avx2, "avx2,fma");
}

#[cfg(target_arch = "aarch64")]
mod arm {
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
            unsafe { Neon(vdupq_n_f32(x)) }
        }
        #[inline(always)]
        unsafe fn load(from: *const f32) -> Self {
            unsafe { Neon(vld1q_f32(from)) }
        }
        #[inline(always)]
        unsafe fn load_partial(from: *const f32, n: usize) -> Self {
            let mut lanes = [0.0f32; 4];
            unsafe {
                std::ptr::copy_nonoverlapping(from, lanes.as_mut_ptr(), n);
                Neon(vld1q_f32(lanes.as_ptr()))
            }
        }
        #[inline(always)]
        unsafe fn store(self, to: *mut f32) {
            unsafe { vst1q_f32(to, self.0) }
        }
        #[inline(always)]
        unsafe fn add(self, other: Self) -> Self {
            unsafe { Neon(vaddq_f32(self.0, other.0)) }
        }
        #[inline(always)]
        unsafe fn sum(self) -> f32 {
            unsafe { vaddvq_f32(self.0) }
        }
        #[inline(always)]
        unsafe fn sub(self, other: Self) -> Self {
            unsafe { Neon(vsubq_f32(self.0, other.0)) }
        }
        #[inline(always)]
        unsafe fn mul(self, other: Self) -> Self {
            unsafe { Neon(vmulq_f32(self.0, other.0)) }
        }
        #[inline(always)]
        unsafe fn mul_add(self, factor: Self, addend: Self) -> Self {
            unsafe { Neon(vfmaq_f32(addend.0, self.0, factor.0)) }
        }
        #[inline(always)]
        unsafe fn cosine(raw: Self, norm: Self) -> Self {
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
            unsafe {
                let within = vmvnq_u32(vcgtq_f32(self.0, bound.0));
                let infinite = vceqq_f32(self.0, vdupq_n_f32(f32::INFINITY));
                let lanes = vandq_u32(vorrq_u32(within, infinite), vld1q_u32(BITS.as_ptr()));
                u64::from(vaddvq_u32(lanes))
            }
        }
    }

    kernel_set!(neon, super::Neon, "neon");
}

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
        unsafe { Portable(from.cast::<[f32; 4]>().read_unaligned()) }
    }
    #[inline(always)]
    unsafe fn load_partial(from: *const f32, n: usize) -> Self {
        let mut lanes = [0.0; 4];
        unsafe { std::ptr::copy_nonoverlapping(from, lanes.as_mut_ptr(), n) };
        Portable(lanes)
    }
    #[inline(always)]
    unsafe fn store(self, to: *mut f32) {
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
const PORTABLE: Kernels = Kernels {
    name: "portable",
    // SAFETY (all four): the portable type needs no CPU feature.
    dot: |a, b| unsafe { one::<Portable, false>(a, b) },
    l2: |a, b| unsafe { one::<Portable, true>(a, b) },
    block: Portable::WIDTH * Portable::PANELS,
    tile_queries: Portable::QUERIES,
    tile: |input, distances, within| unsafe {
        tile::<Portable, { Portable::PANELS }, { Portable::L2_PANELS }>(input, distances, within)
    },
    pack: |rows, packed| unsafe { pack::<Portable>(rows, packed) },
};

/// The best kernels this CPU runs, chosen once.
pub(super) fn kernels() -> &'static Kernels {
    static CHOSEN: std::sync::OnceLock<&'static Kernels> = std::sync::OnceLock::new();
    CHOSEN.get_or_init(|| *runnable().last().expect("the portable set always runs"))
}

/// Every kernel set this CPU runs, best last.
pub(super) fn runnable() -> Vec<&'static Kernels> {
    #[allow(unused_mut)]
    let mut sets = vec![&PORTABLE];
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            sets.push(&x86::avx2::KERNELS);
        }
        if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("fma") {
            sets.push(&x86::avx512::KERNELS);
        }
    }
    #[cfg(target_arch = "aarch64")]
    if std::arch::is_aarch64_feature_detected!("neon") {
        sets.push(&arm::neon::KERNELS);
    }
    sets
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A distance computed in f64 from the definitions.
    pub(in crate::search) fn reference(metric: Metric, q: &[f32], v: &[f32]) -> f64 {
        let dot: f64 = q
            .iter()
            .zip(v)
            .map(|(a, b)| f64::from(*a) * f64::from(*b))
            .sum();
        let norm = |x: &[f32]| x.iter().map(|a| f64::from(*a).powi(2)).sum::<f64>().sqrt();
        match metric {
            Metric::L2 => q
                .iter()
                .zip(v)
                .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
                .sum(),
            Metric::Dot => -dot,
            Metric::Cosine if norm(q) * norm(v) == 0.0 => 1.0,
            Metric::Cosine => 1.0 - dot / (norm(q) * norm(v)),
        }
    }

    /// The explicit NEON set is found and chosen on aarch64 (else the tests
    /// below would only compare the portable set with itself there).
    #[cfg(target_arch = "aarch64")]
    #[test]
    fn neon_is_chosen_on_aarch64() {
        assert_eq!(kernels().name, "neon");
    }

    fn vector(n: usize, seed: f32) -> Vec<f32> {
        (0..n).map(|i| (i as f32 * seed).sin() * 2.0).collect()
    }

    #[test]
    fn single_query_kernels_match_f64_at_odd_lengths() {
        for set in runnable() {
            for n in [1usize, 7, 15, 16, 17, 33, 128, 131, 384, 768] {
                let (a, b) = (vector(n, 0.37), vector(n, 0.11));
                let tol = 1e-4 * n as f64;
                let dot = f64::from((set.dot)(&a, &b));
                let l2 = f64::from((set.l2)(&a, &b));
                assert!(
                    (-dot - reference(Metric::Dot, &a, &b)).abs() <= tol,
                    "{} dot n={n}",
                    set.name
                );
                assert!(
                    (l2 - reference(Metric::L2, &a, &b)).abs() <= tol,
                    "{} l2 n={n}",
                    set.name
                );
            }
        }
    }

    /// Every tile height, every metric, a zero vector and a zero query, and
    /// bounds that admit some lanes and not others. (Partial blocks are the
    /// scan's business: `search::tests`.)
    #[test]
    fn tile_kernels_match_f64_and_report_lanes_within_bound() {
        for set in runnable() {
            for dim in [1usize, 3, 16, 17, 37, 128] {
                let vectors: Vec<Vec<f32>> = (0..set.block)
                    .map(|i| {
                        if i == 5 {
                            vec![0.0; dim]
                        } else {
                            vector(dim, 0.05 + i as f32 * 0.013)
                        }
                    })
                    .collect();
                let rows: Vec<&[f32]> = vectors.iter().map(|v| &v[..]).collect();
                let mut packed = vec![f32::NAN; set.block * dim];
                (set.pack)(&rows, &mut packed);
                let norms: Vec<f32> = vectors.iter().map(|v| (set.dot)(v, v).sqrt()).collect();
                for metric in [Metric::L2, Metric::Dot, Metric::Cosine] {
                    for count in 1..=set.tile_queries {
                        let queries: Vec<f32> = (0..count)
                            .flat_map(|q| {
                                let zero = q == 2;
                                vector(dim, 0.21 + q as f32 * 0.07)
                                    .into_iter()
                                    .map(move |x| if zero { 0.0 } else { x })
                            })
                            .collect();
                        let query_norms: Vec<f32> = queries
                            .chunks(dim)
                            .map(|q| (set.dot)(q, q).sqrt())
                            .collect();
                        // Each query admits the lanes at most its median distance.
                        let expected: Vec<Vec<f64>> = queries
                            .chunks(dim)
                            .map(|q| vectors.iter().map(|v| reference(metric, q, v)).collect())
                            .collect();
                        let bounds: Vec<f32> = expected
                            .iter()
                            .map(|row| {
                                let mut sorted = row.clone();
                                sorted.sort_by(f64::total_cmp);
                                sorted[row.len() / 2] as f32
                            })
                            .collect();
                        let tile = Tile {
                            queries: &queries,
                            query_norms: &query_norms,
                            bounds: &bounds,
                            packed: &packed,
                            vector_norms: &norms,
                            dim,
                            metric,
                        };
                        let mut distances = vec![0.0; count * set.block];
                        let mut within = [0u64; MAX_TILE_QUERIES];
                        (set.tile)(&tile, &mut distances, &mut within);
                        let tol = 1e-4 * dim as f64;
                        for q in 0..count {
                            for lane in 0..set.block {
                                let got = distances[q * set.block + lane];
                                let want = expected[q][lane];
                                let what = format!(
                                    "{} {metric:?} dim={dim} count={count} q={q} lane={lane}",
                                    set.name
                                );
                                assert!(
                                    (f64::from(got) - want).abs() <= tol,
                                    "{what}: {got} vs {want}"
                                );
                                let reported = within[q] >> lane & 1 == 1;
                                assert_eq!(
                                    reported,
                                    got <= bounds[q] || !got.is_finite(),
                                    "{what}: mask"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
