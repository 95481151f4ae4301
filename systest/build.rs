//! Generates the ABI test of vecstore with ctest2.
//!
//! ctest2 parses Rust *source* and, for what it finds, emits a C file (compiled
//! against include/vecstore.h by the C compiler, with -Werror) and a Rust file
//! (included by src/main.rs) that compare the two sides at run time:
//! - `#[repr(C)]` structs: size, alignment, each field's offset, size and type,
//!   and a by-value round trip through C;
//! - type aliases: size, alignment, signedness (and a round trip);
//! - `pub const`s: value, byte by byte;
//! - functions of `extern` blocks: the header's declaration must have the C
//!   signature derived from the Rust types (else the C file does not compile),
//!   and the address C links against must be the Rust function's.
//!
//! The source ctest2 reads is assembled here into OUT_DIR/ctest_view.rs from:
//! the real `src/ffi/types.rs` (the repr(C) types; its `use` lines are dropped
//! since ctest2's old parser cannot read `use crate::...` and ignores `use`
//! anyway), `src/mirror.rs` (the functions as an extern block) and
//! `src/consts.rs` (enum constants, version macros, enum size aliases).
//!
//! Before generating, the sets of names are cross-checked textually so that
//! nothing is left out: functions (src/ffi, header, mirror, signatures.rs) and
//! constants (Rust enum variants, header enum constants and version macros,
//! consts.rs).

use std::collections::BTreeSet;
use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn read(p: &Path) -> String {
    println!("cargo:rerun-if-changed={}", p.display());
    fs::read_to_string(p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// `s` without `use` declarations (also multi-line ones), `//!` lines and `#![...]` lines.
fn strip_for_view(s: &str) -> String {
    let mut out = String::new();
    let mut in_use = false;
    for line in s.lines() {
        let t = line.trim_start();
        if in_use {
            in_use = !line.trim_end().ends_with(';');
            continue;
        }
        if t.starts_with("use ") || t.starts_with("pub use ") {
            in_use = !line.trim_end().ends_with(';');
            continue;
        }
        if t.starts_with("//!") || t.starts_with("#![") || t.starts_with("include!(") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Identifiers that follow `prefix` in `s` (an identifier: [A-Za-z0-9_]+).
fn idents_after(s: &str, prefix: &str) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    let mut rest = s;
    while let Some(i) = rest.find(prefix) {
        rest = &rest[i + prefix.len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end > 0 {
            set.insert(rest[..end].to_string());
        }
    }
    set
}

/// `s` without its comment lines.
fn code_only(s: &str) -> String {
    s.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn same_set(what: &str, a_name: &str, a: &BTreeSet<String>, b_name: &str, b: &BTreeSet<String>) {
    if a != b {
        panic!(
            "{what}: {a_name} and {b_name} differ\n  only in {a_name}: {:?}\n  only in {b_name}: {:?}",
            a.difference(b).collect::<Vec<_>>(),
            b.difference(a).collect::<Vec<_>>()
        );
    }
}

/// The `version = "x.y.z"` of the `[package]` section of a Cargo.toml.
fn package_version(toml: &str) -> (u32, u32, u32) {
    let mut in_package = false;
    for line in toml.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            in_package = t == "[package]";
            continue;
        }
        if in_package {
            if let Some(v) = t.strip_prefix("version") {
                let v = v.trim_start();
                if let Some(v) = v.strip_prefix('=') {
                    let v = v.trim().trim_matches('"');
                    let parts: Vec<u32> = v
                        .split(['.', '-', '+'])
                        .take(3)
                        .map(|p| p.parse().unwrap_or_else(|_| panic!("bad version {v:?}")))
                        .collect();
                    assert_eq!(parts.len(), 3, "bad version {v:?}");
                    return (parts[0], parts[1], parts[2]);
                }
            }
        }
    }
    panic!("no literal version in [package] of vecstore's Cargo.toml");
}

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.parent().unwrap().to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let include_dir = root.join("include");

    let header = read(&include_dir.join("vecstore.h"));
    let types = read(&root.join("src/ffi/types.rs"));
    let mirror = read(&manifest.join("src/mirror.rs"));
    let consts = read(&manifest.join("src/consts.rs"));
    let signatures = read(&manifest.join("src/signatures.rs"));
    let cargo_toml = read(&root.join("Cargo.toml"));

    // --- The version macros, from the crate's version. -----------------------
    let (major, minor, patch) = package_version(&cargo_toml);
    let number = major * 1_000_000 + minor * 1_000 + patch;
    let version_rs = format!(
        "pub const VECSTORE_VERSION_MAJOR: u32 = {major};\n\
         pub const VECSTORE_VERSION_MINOR: u32 = {minor};\n\
         pub const VECSTORE_VERSION_PATCH: u32 = {patch};\n\
         pub const VECSTORE_VERSION_NUMBER: u32 = {number};\n\
         /// \"MAJOR.MINOR.PATCH\", compared with vecstore_version() at run time.\n\
         pub const VECSTORE_VERSION_STRING: &str = \"{major}.{minor}.{patch}\";\n"
    );
    fs::write(out_dir.join("version.rs"), &version_rs).unwrap();

    // --- Completeness: functions. --------------------------------------------
    let mut rust_fns = BTreeSet::new();
    let ffi_dir = root.join("src/ffi");
    println!("cargo:rerun-if-changed={}", ffi_dir.display());
    let mut ffi_files: Vec<_> = fs::read_dir(&ffi_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    ffi_files.sort();
    for f in &ffi_files {
        rust_fns.extend(idents_after(&code_only(&read(f)), "extern \"C\" fn "));
    }
    // Header declarations: `vecstore_xxx(` outside comments and the preprocessor.
    let header_code: String = header
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            !(t.starts_with("/*")
                || t.starts_with('*')
                || t.starts_with("//")
                || t.starts_with('#'))
        })
        .collect::<Vec<_>>()
        .join("\n");
    let header_fns: BTreeSet<String> = idents_after(&header_code, " vecstore_")
        .into_iter()
        .chain(idents_after(&header_code, "*vecstore_"))
        .filter(|n| header_code.contains(&format!("vecstore_{n}(")))
        .map(|n| format!("vecstore_{n}"))
        .collect();
    let mirror_fns = idents_after(&code_only(&mirror), "pub fn ");
    let checked_fns: BTreeSet<String> = signatures
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("vecstore_") && l.ends_with(");"))
        .map(|l| l[..l.find('(').unwrap()].to_string())
        .collect();
    same_set(
        "functions",
        "src/ffi (extern \"C\" fn)",
        &rust_fns,
        "include/vecstore.h",
        &header_fns,
    );
    same_set(
        "functions",
        "src/ffi (extern \"C\" fn)",
        &rust_fns,
        "systest/src/mirror.rs",
        &mirror_fns,
    );
    same_set(
        "functions",
        "src/ffi (extern \"C\" fn)",
        &rust_fns,
        "systest/src/signatures.rs",
        &checked_fns,
    );

    // --- Completeness: constants. --------------------------------------------
    // Enum variants / enum constants are written `NAME = value,` on their own line.
    let assigned = |s: &str| -> BTreeSet<String> {
        s.lines()
            .map(str::trim)
            .filter(|l| l.starts_with("VECSTORE_") && l.contains(" = ") && l.ends_with(','))
            .map(|l| l[..l.find(' ').unwrap()].to_string())
            .collect()
    };
    let rust_variants = assigned(&code_only(&types));
    let header_enum_consts = assigned(&header);
    let header_macros: BTreeSet<String> = idents_after(&header, "#define ")
        .into_iter()
        .filter(|n| n.starts_with("VECSTORE_") && n != "VECSTORE_H")
        .collect();
    let view_consts = idents_after(&code_only(&format!("{consts}\n{version_rs}")), "pub const ");
    let view_consts: BTreeSet<String> = view_consts
        .into_iter()
        .filter(|n| n != "VECSTORE_VERSION_STRING")
        .collect();
    same_set(
        "enum constants",
        "src/ffi/types.rs",
        &rust_variants,
        "include/vecstore.h",
        &header_enum_consts,
    );
    let header_consts: BTreeSet<String> =
        header_enum_consts.union(&header_macros).cloned().collect();
    same_set(
        "constants",
        "include/vecstore.h",
        &header_consts,
        "systest/src/consts.rs + version",
        &view_consts,
    );

    // Enums: Rust `pub enum X` is C `enum X` (cbindgen: `typedef enum X {...} X;`).
    let enums = idents_after(&code_only(&types), "pub enum ");
    assert!(!enums.is_empty());

    // --- The source ctest2 reads. --------------------------------------------
    let view = format!(
        "// Generated by systest/build.rs for ctest2; not compiled.\n\
         // ---- src/ffi/types.rs ----\n{}\n\
         // ---- systest/src/mirror.rs ----\nmod mirror {{\n{}\n}}\n\
         // ---- systest/src/consts.rs ----\nmod consts {{\n{}\n{}\n}}\n",
        strip_for_view(&types),
        strip_for_view(&mirror),
        strip_for_view(&consts),
        strip_for_view(&version_rs),
    );
    let view_path = out_dir.join("ctest_view.rs");
    fs::write(&view_path, view).unwrap();

    let mut cfg = ctest2::TestGenerator::new();
    cfg.header("vecstore.h")
        .include(&include_dir)
        .type_name(move |ty, is_struct, is_union| match ty {
            "f32" => "float".to_string(),
            "f64" => "double".to_string(),
            "bool" => "bool".to_string(),
            // Deliberately `u32` in Rust (an enum parameter could not soundly
            // receive an out-of-range value from C), the enum in the header. Mapping it checks exactly that claim: same size,
            // alignment, signedness and by-value passing as the C enum.
            "vecstore_status_code" => "enum vecstore_status".to_string(),
            "vecstore_durability_code" => "enum vecstore_durability".to_string(),
            "vecstore_metric_code" => "enum vecstore_metric".to_string(),
            t if enums.contains(t) => format!("enum {t}"),
            t if t.ends_with("_enum") && enums.contains(&t[..t.len() - 5]) => {
                format!("enum {}", &t[..t.len() - 5])
            }
            t if is_struct => format!("struct {t}"),
            t if is_union => format!("union {t}"),
            t => t.to_string(),
        })
        // Opaque handles: no repr(C), no fields visible to C, incomplete in the
        // header, so there is no size to compare. They are only ever used
        // behind pointers, which the function signatures check.
        .skip_struct(|s| matches!(s, "vecstore_store" | "vecstore_guard" | "vecstore_cursor"))
        .skip_type(|t| matches!(t, "vecstore_t" | "vecstore_guard_t" | "vecstore_cursor_t"))
        // ctest2's round trip fills every byte with 1, 2, 3, ... and reads the
        // value back as the Rust type: undefined behaviour for a type with
        // invalid bit patterns (a Rust enum; `bool` fields of
        // vecstore_options). Their size, alignment and field offsets, sizes
        // and types are still checked.
        .skip_roundtrip(|t| t.ends_with("_enum") || t == "vecstore_options")
        // Not a header macro: the expected vecstore_version(), compared at run
        // time in main.rs.
        .skip_const(|c| c == "VECSTORE_VERSION_STRING")
        .generate(&view_path, "all.rs");
}
