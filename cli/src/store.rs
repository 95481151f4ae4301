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

/// What the next read-write open would replay: the log records past the
/// checkpoint, read from the files as they are (a read-only handle keeps no
/// log of its own, so its statistics cannot tell; after a crash this is
/// what the writer left). Returns `(bytes, records)`.
///
/// A record counts if it carries the log generation's salt, its header
/// checksum holds and its sequence number is past the checkpoint's, up to
/// the first that fails (as recovery reads the log; a torn payload at the
/// very end is counted, though recovery will drop it).
pub fn unreplayed_log(dir: &Path) -> std::io::Result<(u64, u64)> {
    use vecstore::layout::{checkpoint, header, log};
    let u64_at =
        |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
    let u32_at =
        |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"));
    let mut cp = [0u8; 8];
    {
        use std::io::Read;
        let mut file = std::fs::File::open(dir.join(checkpoint::FILE_NAME))?;
        let mut head = vec![0u8; header::BODY + checkpoint::body::LSN + 8];
        file.read_exact(&mut head)?;
        cp.copy_from_slice(&head[header::BODY + checkpoint::body::LSN..]);
    }
    let checkpoint_lsn = u64::from_le_bytes(cp);
    use std::os::unix::fs::FileExt;
    let file = match std::fs::File::open(dir.join(log::FILE_NAME)) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, 0)),
        Err(e) => return Err(e),
    };
    let size = file.metadata()?.len();
    if size < log::HEADER_LEN as u64 {
        return Ok((0, 0));
    }
    let mut head = vec![0u8; log::HEADER_LEN];
    file.read_exact_at(&mut head, 0)?;
    let salt = u64_at(&head, log::SALT);
    let (mut at, mut total, mut records) = (log::HEADER_LEN as u64, 0u64, 0u64);
    let mut rec = [0u8; log::record::LEN];
    // Only record headers are read, so this costs one small read a record.
    while at + log::record::LEN as u64 <= size {
        file.read_exact_at(&mut rec, at)?;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&rec[..log::record::HEADER_CRC]);
        crc.update(&rec[log::record::KIND..]);
        if u64_at(&rec, log::record::SALT) != salt
            || crc.finalize() != u32_at(&rec, log::record::HEADER_CRC)
        {
            break;
        }
        let Some(len) = log::record::padded_len(u64_at(&rec, log::record::PAYLOAD_LEN))
            .filter(|&len| at + len <= size)
        else {
            break;
        };
        if u64_at(&rec, log::record::LSN) > checkpoint_lsn {
            total += len;
            records += 1;
        }
        at += len;
    }
    Ok((total, records))
}
