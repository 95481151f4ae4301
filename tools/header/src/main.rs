//! `cargo run -p vecstore-header` regenerates include/vecstore.h from the
//! sources; `cargo run -p vecstore-header -- --check` only compares, and
//! exits 1 if the committed header is out of date.

use std::process::ExitCode;

use vecstore_header::{committed, generate, workspace_root, HEADER, STALE};

const USAGE: &str = "usage: vecstore-header [--check]\n\
    Regenerates include/vecstore.h with cbindgen; with --check, only fails\n\
    (exit 1) if the committed header differs from what the sources give.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => false,
        ["--check"] => true,
        ["-h" | "--help"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let root = workspace_root();
    let fresh = match generate(&root) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("vecstore-header: {e}");
            return ExitCode::FAILURE;
        }
    };
    let current = committed(&root).ok();
    if current.as_deref() == Some(&fresh[..]) {
        println!("{HEADER} is up to date");
        return ExitCode::SUCCESS;
    }
    if check {
        eprintln!("{STALE}");
        return ExitCode::FAILURE;
    }
    let path = root.join(HEADER);
    if let Err(e) = std::fs::write(&path, &fresh) {
        eprintln!("vecstore-header: {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    println!("wrote {HEADER}");
    ExitCode::SUCCESS
}
