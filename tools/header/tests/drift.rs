//! The committed include/vecstore.h must equal a fresh cbindgen generation,
//! so that `cargo test --workspace` fails when the sources changed the C API
//! and nobody regenerated the header.

use vecstore_header::{committed, crate_version, generate, workspace_root, Version, STALE};

#[test]
fn header_is_current() {
    let root = workspace_root();
    let fresh = generate(&root).expect("cbindgen generates the header");
    let committed = committed(&root).expect("include/vecstore.h exists");
    assert!(fresh == committed, "{STALE}");
}

#[test]
fn version_defines_follow_the_manifest() {
    let root = workspace_root();
    let version = crate_version(&root).expect("Cargo.toml has a [package] version");
    let header = String::from_utf8(committed(&root).unwrap()).unwrap();
    assert!(header.contains(&version.defines()), "{STALE}");
    let manifest =
        "[workspace]\nversion = \"9.9.9\"\n[package]\nname = \"x\"\nversion = \"1.20.3-rc.1\"\n";
    assert_eq!(
        Version::from_manifest(manifest).unwrap(),
        Version {
            major: 1,
            minor: 20,
            patch: 3
        }
    );
    assert_eq!(Version::parse("1.20.3").unwrap().number(), 1_020_003);
    assert!(Version::parse("1.2").is_err());
}
