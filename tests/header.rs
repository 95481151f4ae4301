//! The committed header must equal a fresh cbindgen generation.

#[test]
fn header_is_current() {
    let fresh = include_str!(concat!(env!("OUT_DIR"), "/vecstore.h"));
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/vecstore.h"))
            .expect("include/vecstore.h exists");
    assert!(
        fresh == committed,
        "include/vecstore.h is out of date: run `cargo build` outside CI and commit the result"
    );
}

#[test]
fn header_version_matches_the_crate() {
    let header = include_str!(concat!(env!("OUT_DIR"), "/vecstore.h"));
    for (name, value) in [
        ("MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ] {
        let line = format!("#define VECSTORE_VERSION_{name} {value}\n");
        assert!(header.contains(&line), "missing {line:?}");
    }
}
