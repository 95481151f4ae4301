//! The kernels' bodies, written once over [`Simd`]: each instruction set
//! compiles them with its own register type and features.

use super::{Metric, Simd, Tile};

// ---- one query, one vector -------------------------------------------------

/// One query against one vector: the sum of products, or of squared
/// differences when `L2`. Four accumulators, so four FMA chains overlap.
///
/// # Safety
/// The CPU has `S`'s features.
#[inline(always)]
pub(super) unsafe fn one<S: Simd, const L2: bool>(q: &[f32], v: &[f32]) -> f32 {
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

/// Sums over the dimensions for `Q` queries and `P` panels: inner products,
/// or squared differences when `L2`.
///
/// # Safety
/// The CPU has `S`'s features; `queries` holds `Q * dim` floats and `packed`
/// `P * dim * S::WIDTH`.
#[inline(always)]
pub(super) unsafe fn accumulate<S: Simd, const Q: usize, const P: usize, const L2: bool>(
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
pub(super) unsafe fn finish<S: Simd, const Q: usize, const PP: usize>(
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
pub(super) unsafe fn tile_of<S: Simd, const Q: usize, const P: usize, const PL2: usize>(
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
pub(super) unsafe fn tile<S: Simd, const P: usize, const PL2: usize>(
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
pub(super) unsafe fn pack<S: Simd>(rows: &[&[f32]], packed: &mut [f32]) {
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
