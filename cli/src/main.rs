//! `vecstore`: inspect, check, load, dump and maintain vecstore stores from
//! the shell, as mdb_stat, mdb_dump, mdb_load and mdb_copy do for LMDB.

mod args;
mod commands;
mod fail;
mod formats;
mod progress;
mod report;
mod store;
mod transfer;

use std::io::Write;
use std::process::ExitCode;

use commands::COMMANDS;
use fail::{code, Failure, EXIT_CODES};
use report::Report;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let (name, outcome) = run(&argv);
    let code = match outcome {
        Ok(report) => {
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(report.out.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Ok(()) => report.code,
                // A closed pipe (`vecstore search ... | head`) is not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => report.code,
                Err(e) => {
                    eprintln!("vecstore: writing the output: {e}");
                    code::OTHER
                }
            }
        }
        Err(failure) => {
            match name {
                Some(name) => eprintln!("vecstore {name}: {failure}"),
                None => eprintln!("vecstore: {failure}"),
            }
            failure.code
        }
    };
    ExitCode::from(code)
}

/// Runs the command line; returns the command's name (if it named one) and
/// the outcome.
fn run(argv: &[String]) -> (Option<&'static str>, Result<Report, Failure>) {
    let Some(first) = argv.first() else {
        return (
            None,
            Err(Failure::usage(format!("no command given\n{}", brief()))),
        );
    };
    match first.as_str() {
        "-h" | "--help" => return (None, Ok(Report::ok(help()))),
        "-V" | "--version" => {
            return (
                None,
                Ok(Report::ok(format!(
                    "vecstore {} (library {}, format version {})\n",
                    env!("CARGO_PKG_VERSION"),
                    store::library_version(),
                    vecstore::FORMAT_VERSION
                ))),
            )
        }
        _ => {}
    }
    // `vecstore help COMMAND` is `vecstore COMMAND --help`.
    let (word, rest) = match (first.as_str(), argv.get(1)) {
        ("help", Some(command)) => (command, &["--help".to_string()][..]),
        ("help", None) => return (None, Ok(Report::ok(help()))),
        _ => (first, &argv[1..]),
    };
    let Some(command) = COMMANDS.iter().find(|c| c.spec.name == word) else {
        return (
            None,
            Err(Failure::usage(format!(
                "unknown command '{word}'\n{}",
                brief()
            ))),
        );
    };
    let spec = &command.spec;
    let outcome = match args::parse(spec, rest) {
        Ok(None) => Ok(Report::ok(args::help(spec))),
        Ok(Some(parsed)) => (command.run)(spec, &parsed),
        Err(failure) => Err(failure),
    };
    (Some(spec.name), outcome)
}

fn brief() -> String {
    let names: Vec<&str> = COMMANDS.iter().map(|c| c.spec.name).collect();
    format!(
        "usage: vecstore COMMAND ... (commands: {})\nTry 'vecstore --help'.",
        names.join(", ")
    )
}

fn help() -> String {
    let mut text = String::from(
        "vecstore: inspect, check, load, dump and maintain vecstore stores.\n\n\
         usage: vecstore COMMAND [ARGUMENTS] [OPTIONS]\n       \
         vecstore COMMAND --help    (or: vecstore help COMMAND)\n       \
         vecstore --version\n\nCommands:\n",
    );
    for command in COMMANDS {
        text.push_str(&format!(
            "  {:<11} {}\n",
            command.spec.name, command.spec.summary
        ));
    }
    text.push_str(
        "\nDIR is a store directory. Vector files are .fvecs or .npy (float32); id\n\
         files are .ivecs or .u64. Progress bars appear on stderr when it is a\n\
         terminal.\n\n",
    );
    text.push_str(EXIT_CODES);
    text.push('\n');
    text
}
