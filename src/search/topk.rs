//! The k best candidates of each query, and what admits a candidate.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::Neighbor;

/// Orders candidates by distance, then id: the heap's top is the worst kept.
#[derive(Clone, Copy)]
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

/// The k best candidates seen so far.
pub(super) struct TopK {
    k: usize,
    heap: BinaryHeap<Candidate>,
}

impl TopK {
    /// `live` bounds the room reserved: k may be far larger than the store.
    pub(super) fn new(k: usize, live: usize) -> TopK {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k.min(live) + 1),
        }
    }

    /// Distance a candidate must beat (or tie with a smaller id) to get in.
    #[inline]
    fn bound(&self) -> f32 {
        if self.k == 0 {
            f32::NEG_INFINITY
        } else if self.heap.len() < self.k {
            f32::INFINITY
        } else {
            self.heap.peek().map_or(f32::INFINITY, |c| c.0.distance)
        }
    }

    fn offer(&mut self, candidate: Candidate) {
        if self.heap.len() < self.k {
            self.heap.push(candidate);
        } else if self.heap.peek().is_some_and(|worst| candidate < *worst) {
            self.heap.pop();
            self.heap.push(candidate);
        }
    }

    pub(super) fn merge(&mut self, other: TopK) {
        for c in other.heap {
            self.offer(c);
        }
    }

    pub(super) fn into_sorted(self) -> Vec<Neighbor> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|c| c.0)
            .collect()
    }
}

/// Every query's best candidates so far, and the distance a candidate must
/// meet to be offered (kept beside the heaps so a miss is one comparison).
pub(super) struct Hits<'f> {
    pub(super) tops: Vec<TopK>,
    pub(super) bounds: Vec<f32>,
    /// Which ids may be results; asked only of a candidate close enough to
    /// get in, so a filter costs little whatever share it accepts.
    filter: Option<&'f Filter>,
}

/// Which ids a search may return. Called from the search's threads, several
/// at once, possibly more than once for an id.
pub(crate) type Filter = dyn Fn(u64) -> bool + Send + Sync;

impl<'f> Hits<'f> {
    pub(super) fn new(
        queries: usize,
        k: usize,
        live: usize,
        filter: Option<&'f Filter>,
    ) -> Hits<'f> {
        Hits {
            tops: (0..queries).map(|_| TopK::new(k, live)).collect(),
            bounds: vec![f32::INFINITY; queries],
            filter,
        }
    }

    /// Offers a candidate to query `q`; `id` is read only when it may get in,
    /// and the filter asked only then. A distance that is not finite comes
    /// from a float overflow (a sum, or a cosine norm marked NaN by
    /// `scan::norm`): `exact` recomputes it in f64, so every vector ranks
    /// where its true distance puts it.
    #[inline]
    pub(super) fn offer(
        &mut self,
        q: usize,
        distance: f32,
        id: impl FnOnce() -> u64,
        exact: impl FnOnce() -> f32,
    ) {
        let distance = if distance.is_finite() {
            distance
        } else {
            exact()
        };
        // -0 becomes +0, so that equal distances tie by id alone.
        let distance = distance + 0.0;
        if distance <= self.bounds[q] {
            let id = id();
            if self.filter.is_some_and(|accepts| !accepts(id)) {
                return;
            }
            let top = &mut self.tops[q];
            top.offer(Candidate(Neighbor { id, distance }));
            self.bounds[q] = top.bound();
        }
    }
}
