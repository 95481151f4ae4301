//! Generates `include/vecstore.h` from the `vecstore` crate's sources with
//! cbindgen, using `cbindgen.toml` plus the `VECSTORE_VERSION_*` defines taken
//! from the crate's `[package] version`.
//!
//! This is a separate workspace tool (`cargo run -p vecstore-header`) rather
//! than a build script so that building `vecstore` never compiles cbindgen and
//! never writes outside cargo's own directories.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The committed header, relative to the workspace root.
pub const HEADER: &str = "include/vecstore.h";

/// The workspace root (the `vecstore` crate's directory) this tool belongs to.
pub fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// Why the header could not be generated.
#[derive(Debug)]
pub enum Error {
    Io(PathBuf, io::Error),
    Version(String),
    Cbindgen(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(path, e) => write!(f, "{}: {e}", path.display()),
            Error::Version(msg) => write!(f, "Cargo.toml: {msg}"),
            Error::Cbindgen(msg) => write!(f, "cbindgen: {msg}"),
        }
    }
}

impl std::error::Error for Error {}

/// `major.minor.patch` of the crate, as cargo's CARGO_PKG_VERSION_* give it
/// (pre-release and build metadata dropped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    /// The `version` of the `[package]` table of a Cargo.toml text.
    pub fn from_manifest(manifest: &str) -> Result<Version, Error> {
        let mut in_package = false;
        for line in manifest.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                in_package = line == "[package]";
            } else if in_package {
                if let Some(rest) = line.strip_prefix("version") {
                    if let Some(value) = rest.trim_start().strip_prefix('=') {
                        return Version::parse(value.trim().trim_matches('"'));
                    }
                }
            }
        }
        Err(Error::Version("no `version` in [package]".into()))
    }

    /// Parses `x.y.z`, ignoring any `-pre` or `+build` suffix.
    pub fn parse(text: &str) -> Result<Version, Error> {
        let core = text.split(['-', '+']).next().unwrap_or("");
        let parts: Vec<u32> = core
            .split('.')
            .map(|p| p.parse::<u32>())
            .collect::<Result<_, _>>()
            .map_err(|_| Error::Version(format!("version {text:?} is not x.y.z")))?;
        match parts[..] {
            [major, minor, patch] => Ok(Version {
                major,
                minor,
                patch,
            }),
            _ => Err(Error::Version(format!("version {text:?} is not x.y.z"))),
        }
    }

    /// MAJOR * 1_000_000 + MINOR * 1_000 + PATCH, as vecstore_version_number().
    pub fn number(self) -> u32 {
        self.major * 1_000_000 + self.minor * 1_000 + self.patch
    }

    /// The text cbindgen puts right after the #includes.
    pub fn defines(self) -> String {
        let Version {
            major,
            minor,
            patch,
        } = self;
        let number = self.number();
        format!(
            "\n/* The version this header belongs to; compare VECSTORE_VERSION_NUMBER with\n   vecstore_version_number() to detect a header/library mismatch. */\n\
             #define VECSTORE_VERSION_MAJOR {major}\n\
             #define VECSTORE_VERSION_MINOR {minor}\n\
             #define VECSTORE_VERSION_PATCH {patch}\n\
             #define VECSTORE_VERSION_NUMBER {number}"
        )
    }
}

fn read(path: PathBuf) -> Result<String, Error> {
    fs::read_to_string(&path).map_err(|e| Error::Io(path, e))
}

/// The crate's version, read from `root/Cargo.toml`.
pub fn crate_version(root: &Path) -> Result<Version, Error> {
    Version::from_manifest(&read(root.join("Cargo.toml"))?)
}

/// The header cbindgen generates for the crate at `root`, in memory.
pub fn generate(root: &Path) -> Result<Vec<u8>, Error> {
    let version = crate_version(root)?;
    let config_path = root.join("cbindgen.toml");
    let mut config = cbindgen::Config::from_file(&config_path)
        .map_err(|e| Error::Cbindgen(format!("{}: {e}", config_path.display())))?;
    config.after_includes = Some(version.defines());
    let bindings = cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .map_err(|e| Error::Cbindgen(e.to_string()))?;
    let mut out = Vec::new();
    bindings.write(&mut out);
    Ok(out)
}

/// The committed header of the crate at `root`.
pub fn committed(root: &Path) -> Result<Vec<u8>, Error> {
    let path = root.join(HEADER);
    fs::read(&path).map_err(|e| Error::Io(path, e))
}

/// What to tell someone whose committed header differs from the sources.
pub const STALE: &str = "include/vecstore.h is out of date: run `cargo run -p vecstore-header`";
