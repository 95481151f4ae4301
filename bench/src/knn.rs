//! Exact k-NN: vecstore's search against a naive scalar brute force over the
//! same vectors (in memory), the floor any search must beat.

use std::collections::BinaryHeap;

use vecstore::{Metric, Store};

use crate::data::Dataset;
use crate::engines::Result;
use crate::results::{Results, LIMIT};
use crate::util::timed;

const K: usize = 10;
const BATCH_QUERIES: usize = 100;

pub struct SearchPlan {
    pub single_queries: usize,
    pub naive_queries: usize,
}

pub fn run(
    data: &Dataset,
    store: &Store,
    plan: &SearchPlan,
    read_gbs: f64,
    res: &mut Results,
) -> Result<()> {
    let dim = data.dim;
    let queries = data.queries(BATCH_QUERIES);
    let query = |q: usize| &queries[q * dim..(q + 1) * dim];

    let singles = plan.single_queries.min(BATCH_QUERIES);
    let (found, secs) = timed(|| -> Result<Vec<Vec<vecstore::Neighbor>>> {
        (0..singles)
            .map(|q| Ok(store.search(query(q), K, Metric::L2)?))
            .collect()
    });
    let first = found?.swap_remove(0);
    res.set("search_1", 0, singles as f64 / secs);
    res.set(
        "search_1_gbs",
        0,
        (singles * data.data_bytes()) as f64 / secs / 1e9,
    );
    res.set("search_1_gbs", LIMIT, read_gbs);

    let (batch, secs) = timed(|| store.search_batch(&queries, K, Metric::L2));
    batch?;
    res.set("search_100", 0, BATCH_QUERIES as f64 / secs);

    let naive = plan.naive_queries.max(1);
    let (tops, secs) = timed(|| {
        (0..naive)
            .map(|q| naive_top_k(data, query(q)))
            .collect::<Vec<_>>()
    });
    res.set("search_1", LIMIT, naive as f64 / secs);
    res.set("search_100", LIMIT, naive as f64 / secs);
    let agree = first.iter().filter(|n| tops[0].contains(&n.id)).count();
    res.set("search_agree", 0, agree as f64);
    Ok(())
}

/// The ids of the `K` rows nearest `query`: a plain loop per row (no SIMD:
/// the compiler keeps the float sum in order) and a bounded heap.
fn naive_top_k(data: &Dataset, query: &[f32]) -> Vec<u64> {
    // Squared distances are non-negative, so their bit patterns order like them.
    let mut heap: BinaryHeap<(u32, u64)> = BinaryHeap::with_capacity(K + 1);
    for row in 0..data.n {
        let v = data.row(row);
        let mut sum = 0f32;
        for i in 0..query.len() {
            let d = query[i] - v[i];
            sum += d * d;
        }
        heap.push((sum.to_bits(), row as u64));
        if heap.len() > K {
            heap.pop();
        }
    }
    heap.into_iter().map(|(_, id)| id).collect()
}
