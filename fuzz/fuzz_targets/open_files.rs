//! Every parser of on-disk bytes, through the public API: the input becomes
//! the files of a store directory (checkpoint, log, one segment), which is
//! then opened, read in full and verified. Any outcome but a panic, a hang or
//! a crash is fine; an open that succeeds must only return intact vectors.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vecstore::{Options, Store};

/// Splits the input into the three files: two little-endian u16 lengths
/// (checkpoint, log), then the checkpoint, the log, and the segment (the rest).
fn split(data: &[u8]) -> [&[u8]; 3] {
    let len = |at: usize| usize::from(u16::from_le_bytes([data[at], data[at + 1]]));
    if data.len() < 4 {
        return [data, &[], &[]];
    }
    let rest = &data[4..];
    let a = len(0).min(rest.len());
    let b = len(2).min(rest.len() - a);
    [&rest[..a], &rest[a..a + b], &rest[a + b..]]
}

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    let [index, log, segment] = split(data);
    std::fs::write(dir.path().join("index.vsi"), index).unwrap();
    std::fs::write(dir.path().join("wal.log"), log).unwrap();
    std::fs::write(dir.path().join("seg-0000000001.vec"), segment).unwrap();
    // A read-only open needs the lock file a writer creates; without it
    // every read-only open would stop at NotFound before reading anything.
    std::fs::write(dir.path().join("LOCK"), b"").unwrap();
    for read_only in [true, false] {
        let options = Options {
            read_only,
            create_if_missing: false,
            ..Options::default()
        };
        let Ok(store) = Store::open(dir.path(), 0, &options) else {
            continue;
        };
        let mut cursor = store.cursor();
        let mut out = vec![0.0; store.dimension() as usize];
        while let Ok(Some((id, v))) = cursor.next() {
            let v = v.to_vec();
            if store.get(id, &mut out).is_ok() {
                assert_eq!(out, v);
            }
        }
        let _ = store.verify();
        let _ = store.search(&out, 3, vecstore::Metric::L2);
    }
});
