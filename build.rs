//! Generates include/vecstore.h with cbindgen and sets the shared library's SONAME.
//!
//! The header is always generated into OUT_DIR. Outside CI it is also copied
//! to include/vecstore.h, so a developer's build keeps the committed header
//! current; in CI (CI set) the committed file is left alone and the
//! `header_is_current` test fails if it drifted.

use std::env;
use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let major = env::var("CARGO_PKG_VERSION_MAJOR").unwrap();
    let minor = env::var("CARGO_PKG_VERSION_MINOR").unwrap();
    let patch = env::var("CARGO_PKG_VERSION_PATCH").unwrap();
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libvecstore.so.{major}");
    // cbindgen reads the whole crate, so any source change may change the header.
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=CI");

    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is valid");
    let number = major.parse::<u32>().unwrap() * 1_000_000
        + minor.parse::<u32>().unwrap() * 1_000
        + patch.parse::<u32>().unwrap();
    config.after_includes = Some(format!(
        "\n/* The version this header belongs to; compare VECSTORE_VERSION_NUMBER with\n   vecstore_version_number() to detect a header/library mismatch. */\n\
         #define VECSTORE_VERSION_MAJOR {major}\n\
         #define VECSTORE_VERSION_MINOR {minor}\n\
         #define VECSTORE_VERSION_PATCH {patch}\n\
         #define VECSTORE_VERSION_NUMBER {number}"
    ));
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("vecstore.h");
    bindings.write_to_file(&out);
    if env::var_os("CI").is_none() {
        bindings.write_to_file(crate_dir.join("include/vecstore.h"));
    }
}
