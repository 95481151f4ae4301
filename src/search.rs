//! Exact k-nearest-neighbour search: a scan of every live slot of a snapshot,
//! straight from the mapped segments, keeping the k best in a bounded heap.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::error::{Error, Result};
use crate::segment::slot_id;
use crate::store::Store;

/// How distance is measured; smaller is always closer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Squared Euclidean distance.
    L2,
    /// Negative inner product.
    Dot,
    /// One minus cosine similarity (1 when either vector is all zeros).
    Cosine,
}

/// One search result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbor {
    pub id: u64,
    pub distance: f32,
}

/// Orders candidates by distance, then id: the heap's top is the worst kept.
struct Candidate(Neighbor);

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .distance
            .total_cmp(&other.0.distance)
            .then(self.0.id.cmp(&other.0.id))
    }
}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Candidate {}

/// Eight independent accumulators so the compiler vectorizes the loops.
const LANES: usize = 8;

fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

fn l2(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| (x - y) * (x - y))
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            let d = x[i] - y[i];
            acc[i] += d * d;
        }
    }
    acc.iter().sum::<f32>() + tail
}

impl Metric {
    /// Distance between `query` (whose norm is `query_norm`) and `v`.
    fn distance(self, query: &[f32], query_norm: f32, v: &[f32]) -> f32 {
        match self {
            Metric::L2 => l2(query, v),
            Metric::Dot => -dot(query, v),
            Metric::Cosine => {
                let norm = dot(v, v).sqrt() * query_norm;
                if norm == 0.0 {
                    1.0
                } else {
                    1.0 - dot(query, v) / norm
                }
            }
        }
    }
}

impl Store {
    /// The `k` live vectors closest to `query`, closest first, ties broken by
    /// smaller id; fewer when the store holds fewer. Scans a snapshot, so
    /// concurrent writers neither block nor tear it.
    pub fn search(&self, query: &[f32], k: usize, metric: Metric) -> Result<Vec<Neighbor>> {
        if query.len() != self.dimension as usize {
            return Err(Error::dimension(self.dimension, query.len()));
        }
        if query.iter().any(|v| !v.is_finite()) {
            return Err(Error::invalid("query has a non-finite value"));
        }
        let snapshot = self.index.read().snapshot();
        let query_norm = dot(query, query).sqrt();
        let mut heap: BinaryHeap<Candidate> = BinaryHeap::with_capacity(k + 1);
        if k > 0 {
            for seg in &snapshot.segments {
                for slot in seg.live_slots() {
                    let distance = metric.distance(query, query_norm, seg.segment.vector(slot));
                    let id = slot_id(seg.segment.slot(slot));
                    let candidate = Candidate(Neighbor { id, distance });
                    if heap.len() < k {
                        heap.push(candidate);
                    } else if candidate < *heap.peek().expect("k > 0") {
                        heap.pop();
                        heap.push(candidate);
                    }
                }
            }
        }
        Ok(heap.into_sorted_vec().into_iter().map(|c| c.0).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_match_a_plain_sum_at_odd_lengths() {
        for n in [1usize, 7, 8, 9, 17, 128, 131] {
            let a: Vec<f32> = (0..n).map(|i| i as f32 * 0.5 - 3.0).collect();
            let b: Vec<f32> = (0..n).map(|i| 1.0 - i as f32 * 0.25).collect();
            let d: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| f64::from(*x) * f64::from(*y))
                .sum();
            let e: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
                .sum();
            assert!(
                (f64::from(dot(&a, &b)) - d).abs() <= 1e-3 * d.abs().max(1.0),
                "dot n={n}"
            );
            assert!(
                (f64::from(l2(&a, &b)) - e).abs() <= 1e-3 * e.max(1.0),
                "l2 n={n}"
            );
        }
    }
}
