//! Random operation sequences against an in-memory model: every read must
//! agree with the model, including after checkpoints, compactions and reopens.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use vecstore::{Durability, ErrorKind, Options, Store};

const DIM: usize = 3;

fn vector(seed: u8, id: u64) -> Vec<f32> {
    (0..DIM)
        .map(|i| f32::from(seed) + (id * 7 + i as u64) as f32)
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    let open = |d: Durability| {
        let options = Options {
            durability: d,
            initial_capacity: 4,
            ..Options::default()
        };
        Store::open(dir.path(), DIM as u32, &options).unwrap()
    };
    let mut store = Some(open(Durability::Flush));
    let mut model: BTreeMap<u64, Vec<f32>> = BTreeMap::new();
    for op in data.chunks(3) {
        let (code, a, b) = (
            op[0],
            u64::from(*op.get(1).unwrap_or(&0) % 16),
            *op.get(2).unwrap_or(&0),
        );
        let s = store.as_ref().unwrap();
        match code % 10 {
            0..=2 => {
                s.put(a, &vector(b, a)).unwrap();
                model.insert(a, vector(b, a));
            }
            3 => {
                let ids: Vec<u64> = (a..a + u64::from(b % 5)).collect();
                let rows: Vec<f32> = ids.iter().flat_map(|&id| vector(b, id)).collect();
                s.put_batch(&ids, &rows).unwrap();
                for id in ids {
                    model.insert(id, vector(b, id));
                }
            }
            4 => match s.delete(a) {
                Ok(()) => assert!(model.remove(&a).is_some()),
                Err(e) => assert!(e.kind() == ErrorKind::NotFound && !model.contains_key(&a)),
            },
            5 => s.checkpoint().unwrap(),
            6 => {
                s.compact().unwrap();
            }
            7 => {
                let mode =
                    [Durability::Fsync, Durability::Flush, Durability::None][usize::from(b % 3)];
                store.take().unwrap().close().unwrap();
                store = Some(open(mode));
            }
            _ => {
                let mut out = [0.0; DIM];
                match s.get(a, &mut out) {
                    Ok(()) => assert_eq!(Some(&out.to_vec()), model.get(&a)),
                    Err(e) => assert!(e.kind() == ErrorKind::NotFound && !model.contains_key(&a)),
                }
            }
        }
    }
    let s = store.unwrap();
    assert_eq!(s.len(), model.len() as u64);
    for (id, v) in &model {
        let mut out = [0.0; DIM];
        s.get(*id, &mut out).unwrap();
        assert_eq!(&out.to_vec(), v);
    }
    assert!(s.verify().problems.is_empty());
});
