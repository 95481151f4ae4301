//! The random workload's operations, shared by the SIGKILL crash test
//! (`tests/crash.rs`) and the power-cut simulator (`tests/powercut.rs`): a
//! child process runs them on a store and reports each one as text (`encode`)
//! before and after it; the parent decodes the report and replays it on a
//! model of the content (`apply`). What a test may expect of the store after
//! a kill or a cut (which operations count as acknowledged, and when) is
//! each test's own rule, not this module's. Each test draws its operations
//! with its own generator.

use std::collections::BTreeMap;

use vecstore::{Durability, ErrorKind, Store};

use super::{bits, mode_name, parse_mode, versioned_vector};

/// Dimension of the workload's stores.
pub const DIM: usize = 8;

/// A store's whole content: id → the bit patterns of its vector.
pub type Content = BTreeMap<u64, Vec<u32>>;

/// The vector written for `id` at `version`: distinct for every write.
pub fn vector(id: u64, version: u64) -> Vec<f32> {
    versioned_vector(id, version, DIM)
}

/// One operation of the workload.
#[derive(Debug, Clone)]
pub enum Op {
    /// Put of `id` at `version`.
    Put(u64, u64),
    /// Put of every id at the same `version`.
    Batch(u64, Vec<u64>),
    /// Delete (absent ids are fine).
    Delete(u64),
    DeleteBatch(Vec<u64>),
    Checkpoint,
    Compact,
    Flush,
    SetMode(Durability),
    /// A clean close (consumes the store: not for [`Op::run`]).
    Close,
}

impl Op {
    pub fn encode(&self) -> String {
        let list = |ids: &[u64]| ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        match self {
            Op::Put(id, v) => format!("put {id} {v}"),
            Op::Batch(v, ids) => format!("batch {v} {}", list(ids)),
            Op::Delete(id) => format!("del {id}"),
            Op::DeleteBatch(ids) => format!("delb {}", list(ids)),
            Op::Checkpoint => "ckpt".into(),
            Op::Compact => "compact".into(),
            Op::Flush => "flush".into(),
            Op::SetMode(m) => format!("mode {}", mode_name(*m)),
            Op::Close => "close".into(),
        }
    }

    pub fn decode(line: &str) -> Op {
        let parts: Vec<&str> = line.split(' ').collect();
        let list = |s: &str| -> Vec<u64> {
            s.split(',')
                .filter(|x| !x.is_empty())
                .map(|x| x.parse().unwrap())
                .collect()
        };
        match parts[0] {
            "put" => Op::Put(parts[1].parse().unwrap(), parts[2].parse().unwrap()),
            "batch" => Op::Batch(parts[1].parse().unwrap(), list(parts[2])),
            "del" => Op::Delete(parts[1].parse().unwrap()),
            "delb" => Op::DeleteBatch(list(parts.get(1).copied().unwrap_or(""))),
            "ckpt" => Op::Checkpoint,
            "compact" => Op::Compact,
            "flush" => Op::Flush,
            "mode" => Op::SetMode(parse_mode(parts[1])),
            "close" => Op::Close,
            other => panic!("unknown op {other}"),
        }
    }

    /// Whether this operation changes vectors (a put or a delete).
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Op::Put(..) | Op::Batch(..) | Op::Delete(_) | Op::DeleteBatch(_)
        )
    }

    /// Whether completing this operation in `mode` makes everything before
    /// it durable (a checkpoint: flush, checkpoint, compact, close, or
    /// leaving NONE, which checkpoints first).
    pub fn is_barrier(&self, mode: Durability) -> bool {
        match self {
            Op::Checkpoint | Op::Compact | Op::Flush | Op::Close => true,
            Op::SetMode(to) => mode == Durability::None && *to != Durability::None,
            _ => false,
        }
    }

    /// This operation's effect on `content`.
    pub fn apply(&self, content: &mut Content) {
        match self {
            Op::Put(id, v) => {
                content.insert(*id, bits(&vector(*id, *v)));
            }
            Op::Batch(v, ids) => {
                for id in ids {
                    content.insert(*id, bits(&vector(*id, *v)));
                }
            }
            Op::Delete(id) => {
                content.remove(id);
            }
            Op::DeleteBatch(ids) => {
                for id in ids {
                    content.remove(id);
                }
            }
            Op::Checkpoint | Op::Compact | Op::Flush | Op::SetMode(_) | Op::Close => {}
        }
    }

    /// Runs this operation on `store`; panics if it fails.
    pub fn run(&self, store: &Store) {
        let r = match self {
            Op::Put(id, v) => store.put(*id, &vector(*id, *v)),
            Op::Batch(v, ids) => {
                let data: Vec<f32> = ids.iter().flat_map(|id| vector(*id, *v)).collect();
                store.put_batch(ids, &data)
            }
            Op::Delete(id) => match store.delete(*id) {
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
                r => r,
            },
            Op::DeleteBatch(ids) => store.delete_batch(ids).map(|_| ()),
            Op::Checkpoint => store.checkpoint(),
            Op::Compact => store.compact().map(|_| ()),
            Op::Flush => store.flush(),
            Op::SetMode(m) => store.set_durability(*m),
            Op::Close => unreachable!("close consumes the store"),
        };
        r.unwrap_or_else(|e| panic!("{self:?}: {e}"));
    }
}

/// FNV-1a over ids and bit patterns: how a child reports a content in one
/// line, and how the parent finds which state it was.
pub fn content_hash(content: &Content) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for (id, v) in content {
        eat(&id.to_le_bytes());
        for x in v {
            eat(&x.to_le_bytes());
        }
    }
    h
}

/// Reads the whole store through its cursor and checks it against `len()`
/// and `get`: no id twice, the same count, the same bits.
pub fn read_store(store: &Store) -> Result<Content, String> {
    let mut content = Content::new();
    let mut cursor = store.cursor();
    loop {
        match cursor.next() {
            Ok(Some((id, v))) => {
                if content.insert(id, bits(v)).is_some() {
                    return Err(format!("id {id} twice in a cursor"));
                }
            }
            Ok(None) => break,
            Err(e) => return Err(format!("cursor: {e}")),
        }
    }
    drop(cursor);
    if store.len() != content.len() as u64 {
        return Err(format!(
            "len() says {}, the cursor gave {}",
            store.len(),
            content.len()
        ));
    }
    let mut out = vec![0.0; DIM];
    for (id, v) in &content {
        store
            .get(*id, &mut out)
            .map_err(|e| format!("get {id}: {e}"))?;
        if &bits(&out) != v {
            return Err(format!("get {id} disagrees with the cursor"));
        }
    }
    Ok(content)
}
