//! Opening stores the way every command needs, with the library's errors kept.

use std::path::Path;

use vecstore::{Durability, Error, ErrorKind, Options, Store};

/// Opens the existing store in `dir` read-only, beside any other readers and
/// a writer.
pub fn open_read_only(dir: &Path) -> Result<Store, Error> {
    open(
        dir,
        &Options {
            read_only: true,
            create_if_missing: false,
            ..Options::default()
        },
    )
}

/// Opens the existing store in `dir` for writing.
pub fn open_writer(dir: &Path, durability: Durability) -> Result<Store, Error> {
    open(
        dir,
        &Options {
            durability,
            create_if_missing: false,
            ..Options::default()
        },
    )
}

/// `Store::open`, except that a directory holding no store is `NotFound`
/// (a read-only open of one fails on the missing lock file with `Io`).
pub fn open(dir: &Path, options: &Options) -> Result<Store, Error> {
    Store::open(dir, 0, options).map_err(|e| {
        if e.kind() == ErrorKind::Io && dir.is_dir() && !dir.join("index.vsi").exists() {
            Error::new(
                ErrorKind::NotFound,
                format!("{}: no vecstore store here", dir.display()),
            )
        } else {
            e
        }
    })
}

/// The library version, "MAJOR.MINOR.PATCH".
pub fn library_version() -> String {
    let n = vecstore::ffi::vecstore_version_number();
    format!("{}.{}.{}", n / 1_000_000, n / 1_000 % 1_000, n % 1_000)
}

/// Segment files in `dir` (the store's data files).
pub fn segment_files(dir: &Path) -> std::io::Result<u64> {
    let mut count = 0;
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("seg-") && name.ends_with(".vec") {
            count += 1;
        }
    }
    Ok(count)
}
