//! The command line, described with clap's derive API: parsing, `--help`,
//! and the shell completions (`vecstore completions bash|zsh`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::fail::EXIT_CODES;

const ABOUT: &str = "Inspect, check, load, dump, copy and maintain vecstore stores.";

const AFTER_HELP: &str = "\
DIR is a store directory. Vector files are .fvecs, .npy (float32; float64 and
float16 are converted), .npz (its array 'vectors', or its only array; ids from
its array 'ids') or .jsonl (one {\"id\": ..., \"vector\": [...]} per line); id
files are .ivecs, .u64 or .npy (int64/uint64). FILE '-' is standard input or
output, with --format. Progress bars appear on stderr when it is a terminal.
'vecstore help COMMAND' or 'vecstore COMMAND --help' tells more of a command.";

/// `vecstore`: inspect, check, load, dump, copy and maintain vecstore stores,
/// as mdb_stat, mdb_dump, mdb_load and mdb_copy do for LMDB.
#[derive(Parser, Debug)]
#[command(
    name = "vecstore",
    about = ABOUT,
    version = None,
    disable_version_flag = true,
    after_help = AFTER_HELP,
    after_long_help = format!("{AFTER_HELP}\n\n{EXIT_CODES}"),
    max_term_width = 100
)]
pub struct Cli {
    /// Print the tool's, the library's and the format's versions.
    #[arg(short = 'V', long, exclusive = true)]
    pub version: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show a store's statistics (like mdb_stat).
    ///
    /// Opens the store read-only and prints its dimension, vector count,
    /// sizes (segment files; the log not yet checkpointed, which the next
    /// read-write open replays, read from the files as they are, so also
    /// after a crash; live vector bytes), fragmentation (the share of slots
    /// that `vecstore compact` would reclaim), segment files, on-disk format
    /// version and library version.
    Stat {
        /// The store directory.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },

    /// Check a store's consistency and every vector's checksum.
    ///
    /// Opens the store read-only (file headers, checkpoint and log are
    /// checked at open), checks every index entry against its slot
    /// (checksum, stored id, bounds) and each segment's slot accounting, then
    /// reads every vector through a cursor, which checks each slot's
    /// checksum again.
    ///
    /// Prints each problem on its own line ('problem: ...', naming the id,
    /// slot and file) and exits 1 if there is any; exits 0 if the store is
    /// sound. A store that fails to open because it is damaged also exits 1.
    /// A store that another process is writing is checked as of one instant.
    Verify {
        /// The store directory.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Print one JSON object (the same fields and problems).
        #[arg(long)]
        json: bool,
    },

    /// Load vectors from a file or standard input (like mdb_load).
    ///
    /// FILE is .fvecs (records of an int32 dimension and that many float32),
    /// .npy (shape (n, d) or (d,), C order; float32, or float64 or float16
    /// converted to float32 with a note on stderr), .npz (the array
    /// 'vectors', or the only array; ids from the array 'ids' unless --ids
    /// is given) or .jsonl (one {"id": ..., "vector": [...]} per line); '-'
    /// reads standard input, whose format --format names. Vectors take
    /// their ids from the file (.jsonl, .npz), from IDS in file order, or
    /// are numbered from --start-id; an existing id is overwritten. The
    /// store is created with the file's dimension if DIR holds none; a store
    /// of another dimension is refused.
    ///
    /// The whole input is checked first (sizes, every record's dimension,
    /// every value finite, the id count): a malformed or truncated file is
    /// refused before anything is written. Files are streamed, so they may
    /// be larger than memory (standard input is first spooled to a temporary
    /// file).
    ///
    /// Durability: by default (none) the import writes without a log and
    /// checkpoints once at the end: fast, and all or nothing: if the import
    /// fails or is killed, the store returns to its state before the import.
    /// With fsync or flush every batch is logged and kept as it is written,
    /// so a failure leaves the batches already written.
    Import(ImportArgs),

    /// Write every vector to a file or standard output (like mdb_dump).
    ///
    /// Opens the store read-only and writes its vectors bit for bit, in
    /// storage order, to FILE (.fvecs, .npy or .jsonl by extension, or
    /// --format; '-' is standard output) and their ids, in the same order,
    /// to IDS if given (.jsonl carries its ids). An .ivecs file holds ids up
    /// to 2^31-1; a larger id fails the export (use .u64 or .npy). Files are
    /// written under a temporary name and appear only when complete.
    ///
    /// A vector that fails its checksum stops the export (exit 5), unless
    /// --skip-damaged is given: then every intact vector is exported, the
    /// damaged ids are listed on stderr, and the exit code is 1.
    Export(ExportArgs),

    /// Find the nearest stored vectors of each query (exact search).
    ///
    /// Prints, for each query, a line '# query I' and then one line per
    /// neighbour, closest first: the id and the distance, separated by a
    /// tab. Blocks are separated by a blank line. Smaller distances are
    /// closer for every metric. With --json, one JSON object per query and
    /// line: {"query": I, "neighbors": [{"id": ..., "distance": ...}, ...]}.
    Search(SearchArgs),

    /// Print the vector stored under an id.
    ///
    /// Prints the values on one line separated by spaces (each value as the
    /// shortest decimal that reads back to the same float), or with --json
    /// one {"id": ..., "vector": [...]} line, as export --format jsonl
    /// writes. An id the store does not hold exits 8.
    Get {
        /// The store directory.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// The vector's id.
        #[arg(value_name = "ID")]
        id: u64,
        /// Print a JSON line.
        #[arg(long)]
        json: bool,
    },

    /// Store one vector under an id, replacing any vector with that id.
    ///
    /// The values come from the arguments, or, if none are given, from
    /// standard input: numbers separated by spaces, commas or newlines, or
    /// a JSON array. The store must exist; the vector must have its
    /// dimension and finite values. Durable when the command returns (fsync,
    /// unless --durability says otherwise).
    Put {
        /// The store directory.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// The vector's id.
        #[arg(value_name = "ID")]
        id: u64,
        /// The vector's values (default: read standard input).
        #[arg(value_name = "VALUE", allow_hyphen_values = true)]
        values: Vec<f32>,
        /// fsync, flush or none.
        #[arg(long, value_enum, default_value_t = Mode::Fsync, value_name = "MODE")]
        durability: Mode,
    },

    /// Delete the vectors of one or more ids, atomically.
    ///
    /// Deletes every listed id the store holds, in one atomic batch. If any
    /// listed id was not there, says which and exits 8 (the others are
    /// deleted all the same).
    Delete {
        /// The store directory.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// The ids to delete.
        #[arg(value_name = "ID", required = true)]
        ids: Vec<u64>,
        /// fsync, flush or none.
        #[arg(long, value_enum, default_value_t = Mode::Fsync, value_name = "MODE")]
        durability: Mode,
    },

    /// Make a consistent copy of a store, also while it is written (like mdb_copy).
    ///
    /// Writes the live vectors of one instant of SRC into DEST, a new store
    /// (DEST must not exist, or be an empty directory): no dead slots, an
    /// empty log, checkpointed and fsynced, ready to open. SRC is opened
    /// read-only, so an application may go on writing to it meanwhile; the
    /// copy holds every write acknowledged before the copy began, and each
    /// batch whole or not at all. A vector of SRC that fails its checksum
    /// fails the copy (exit 5; `vecstore export --skip-damaged` salvages the
    /// rest). A failed copy leaves nothing at DEST.
    Copy {
        /// The store to copy.
        #[arg(value_name = "SRC")]
        src: PathBuf,
        /// The new store's directory.
        #[arg(value_name = "DEST")]
        dest: PathBuf,
    },

    /// Reclaim the space of overwritten and deleted vectors.
    ///
    /// Opens the store for writing, moves the live vectors out of segments
    /// with dead slots, and deletes those segments. Readers may keep using
    /// the store meanwhile (in other processes, through read-only handles).
    Compact {
        /// The store directory.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },

    /// Write the index and trim the log, so the next open is instant.
    ///
    /// Opens the store for writing (which replays the log left by a writer
    /// that did not close the store) and writes a checkpoint, leaving the
    /// log empty.
    Checkpoint {
        /// The store directory.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },

    /// Print a shell completion script (bash or zsh) on standard output.
    ///
    /// bash: save it as /usr/share/bash-completion/completions/vecstore (or
    /// source it); zsh: save it as _vecstore in a directory of $fpath.
    /// `cmake --install` installs both.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: Shell,
    },
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The store directory (created if it holds no store).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The vectors; '-' is standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The file's format (default: from its extension).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// Ids file: .ivecs (int32), .u64 (raw little-endian u64) or .npy (int64/uint64).
    #[arg(long, value_name = "IDS", conflicts_with = "start_id")]
    pub ids: Option<PathBuf>,
    /// Without ids, number the vectors N, N+1, ... [default: 0]
    #[arg(long, value_name = "N")]
    pub start_id: Option<u64>,
    /// Vectors per write.
    #[arg(long, value_name = "N", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub batch: u64,
    /// fsync, flush or none.
    #[arg(long, value_enum, default_value_t = Mode::None, value_name = "MODE")]
    pub durability: Mode,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The store directory.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Where to write the vectors; '-' is standard output.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The file's format (default: from its extension).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// Ids file: .ivecs (ids up to 2^31-1), .u64 or .npy (uint64).
    #[arg(long, value_name = "IDS")]
    pub ids: Option<PathBuf>,
    /// Export every intact vector and list the damaged ids, instead of
    /// stopping at the first.
    #[arg(long)]
    pub skip_damaged: bool,
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    /// The store directory.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Queries, one vector per row (.fvecs, .npy, .npz or .jsonl; '-' is
    /// standard input).
    #[arg(short, long, value_name = "FILE")]
    pub query: PathBuf,
    /// The queries' format (default: from the extension).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// Neighbours per query.
    #[arg(short, value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub k: u64,
    /// l2 (squared), dot (negative inner product) or cosine.
    #[arg(long, value_enum, default_value_t = MetricArg::L2, value_name = "METRIC")]
    pub metric: MetricArg,
    /// One JSON object per query and line.
    #[arg(long)]
    pub json: bool,
}

/// A vector file's format.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// .fvecs: records of an int32 dimension and that many float32.
    Fvecs,
    /// .npy: a NumPy array of shape (n, d).
    Npy,
    /// .npz: NumPy arrays in a zip archive (import only).
    Npz,
    /// .jsonl: one {"id": ..., "vector": [...]} per line.
    Jsonl,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Durable on return (fdatasync of the log).
    Fsync,
    /// Survives a crash of the process on return.
    Flush,
    /// No log; durable at the end (a checkpoint).
    None,
}

impl Mode {
    pub fn durability(self) -> vecstore::Durability {
        match self {
            Mode::Fsync => vecstore::Durability::Fsync,
            Mode::Flush => vecstore::Durability::Flush,
            Mode::None => vecstore::Durability::None,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricArg {
    /// Squared Euclidean distance.
    L2,
    /// Negative inner product.
    Dot,
    /// 1 - cosine similarity.
    Cosine,
}

impl MetricArg {
    pub fn metric(self) -> vecstore::Metric {
        match self {
            MetricArg::L2 => vecstore::Metric::L2,
            MetricArg::Dot => vecstore::Metric::Dot,
            MetricArg::Cosine => vecstore::Metric::Cosine,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shell {
    Bash,
    Zsh,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
