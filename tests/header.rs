//! The committed header belongs to this version of the crate. (That it equals
//! a fresh cbindgen generation is checked by the `vecstore-header` tool's
//! tests, so that building this crate never needs cbindgen.)

#[test]
fn header_version_matches_the_crate() {
    let header =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/vecstore.h"))
            .expect("include/vecstore.h exists");
    for (name, value) in [
        ("MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ] {
        let line = format!("#define VECSTORE_VERSION_{name} {value}\n");
        assert!(
            header.contains(&line),
            "include/vecstore.h lacks {line:?}: run `cargo run -p vecstore-header`"
        );
    }
}
