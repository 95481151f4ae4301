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
//! All `unsafe` of the search lives in this module: the SIMD intrinsics.
//! This file holds the register trait, the kernel sets' common shape and the
//! run-time choice; `generic.rs` the kernels' bodies, written once over the
//! trait; one file per instruction set its register type and kernel set:
//! `portable.rs`, `avx2.rs` and `avx512.rs` (x86_64), `neon.rs` (aarch64).

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
/// the items of the instruction set's module that invokes it: the four
/// functions and `KERNELS`.
macro_rules! kernel_set {
    ($simd:ty, $features:literal) => {
        #[target_feature(enable = $features)]
        unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
            // SAFETY: this function runs only with `$features` on.
            unsafe { super::generic::one::<$simd, false>(a, b) }
        }
        #[target_feature(enable = $features)]
        unsafe fn l2(a: &[f32], b: &[f32]) -> f32 {
            // SAFETY: as above.
            unsafe { super::generic::one::<$simd, true>(a, b) }
        }
        #[target_feature(enable = $features)]
        unsafe fn tile_here(input: &super::Tile<'_>, distances: &mut [f32], within: &mut [u64]) {
            // SAFETY: this function runs only with `$features` on.
            unsafe {
                super::generic::tile::<
                    $simd,
                    { <$simd as super::Simd>::PANELS },
                    { <$simd as super::Simd>::L2_PANELS },
                >(input, distances, within)
            }
        }
        #[target_feature(enable = $features)]
        unsafe fn pack_here(rows: &[&[f32]], packed: &mut [f32]) {
            // SAFETY: this function runs only with `$features` on.
            unsafe { super::generic::pack::<$simd>(rows, packed) }
        }
        const _: () = assert!(super::shape_fits::<$simd>());

        /// Only handed out after the CPU was found to have `features`.
        pub(super) const KERNELS: super::Kernels = super::Kernels {
            name: $features,
            // SAFETY: `runnable()` hands this set out only after
            // run-time detection confirmed every feature.
            dot: |a, b| unsafe { dot(a, b) },
            // SAFETY: as above.
            l2: |a, b| unsafe { l2(a, b) },
            block: <$simd as super::Simd>::WIDTH * <$simd as super::Simd>::PANELS,
            tile_queries: <$simd as super::Simd>::QUERIES,
            // SAFETY: as above.
            tile: |input, distances, within| unsafe { tile_here(input, distances, within) },
            // SAFETY: as above.
            pack: |rows, packed| unsafe { pack_here(rows, packed) },
        };
    };
}

// After the macro: its text is in scope only below its definition.
#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod generic;
#[cfg(target_arch = "aarch64")]
mod neon;
mod portable;

/// The best kernels this CPU runs, chosen once.
pub(super) fn kernels() -> &'static Kernels {
    static CHOSEN: std::sync::OnceLock<&'static Kernels> = std::sync::OnceLock::new();
    CHOSEN.get_or_init(|| *runnable().last().expect("the portable set always runs"))
}

/// Every kernel set this CPU runs, best last.
pub(super) fn runnable() -> Vec<&'static Kernels> {
    #[allow(unused_mut)]
    let mut sets = vec![&portable::KERNELS];
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            sets.push(&avx2::KERNELS);
        }
        if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("fma") {
            sets.push(&avx512::KERNELS);
        }
    }
    #[cfg(target_arch = "aarch64")]
    if std::arch::is_aarch64_feature_detected!("neon") {
        sets.push(&neon::KERNELS);
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
