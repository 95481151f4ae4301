//! `vecstore`: inspect, check, load, dump, copy and maintain vecstore
//! stores from the shell, as mdb_stat, mdb_dump, mdb_load and mdb_copy do
//! for LMDB. The command line is parsed by clap (`cli`).

mod cli;
mod commands;
mod fail;
mod formats;
mod progress;
mod report;
mod store;
mod transfer;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use cli::{Cli, Command, Shell};
use fail::{code, Failure};
use report::Report;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and usage errors, printed as clap formats them; usage
            // errors exit 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                code::USAGE
            } else {
                code::OK
            });
        }
    };
    let (name, outcome) = run(cli);
    let code = match outcome {
        Ok(report) => {
            if !report.err.is_empty() {
                let mut err = std::io::stderr().lock();
                for line in report.err.lines() {
                    let _ = writeln!(err, "vecstore {}: {line}", name.unwrap_or_default());
                }
            }
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
            if !failure.message.is_empty() {
                match name {
                    Some(name) => eprintln!("vecstore {name}: {failure}"),
                    None => eprintln!("vecstore: {failure}"),
                }
            }
            failure.code
        }
    };
    ExitCode::from(code)
}

/// Runs the command; returns its name and the outcome.
fn run(cli: Cli) -> (Option<&'static str>, Result<Report, Failure>) {
    if cli.version {
        return (
            None,
            Ok(Report::ok(format!(
                "vecstore {} (library {}, format version {})\n",
                env!("CARGO_PKG_VERSION"),
                store::library_version(),
                vecstore::FORMAT_VERSION
            ))),
        );
    }
    let Some(command) = cli.command else {
        return (
            None,
            Err(Failure::usage(
                "no command given\nusage: vecstore <COMMAND> ...; try 'vecstore --help'",
            )),
        );
    };
    match command {
        Command::Stat { dir, json } => (Some("stat"), commands::stat(&dir, json)),
        Command::Verify { dir, json } => (Some("verify"), commands::verify(&dir, json)),
        Command::Import(a) => (Some("import"), transfer::import(&a)),
        Command::Export(a) => (Some("export"), transfer::export(&a)),
        Command::Search(a) => (Some("search"), commands::search(&a)),
        Command::Get { dir, id, json } => (Some("get"), commands::get(&dir, id, json)),
        Command::Put {
            dir,
            id,
            values,
            durability,
        } => (Some("put"), commands::put(&dir, id, &values, durability)),
        Command::Delete {
            dir,
            ids,
            durability,
        } => (Some("delete"), commands::delete(&dir, &ids, durability)),
        Command::Copy { src, dest } => (Some("copy"), commands::copy(&src, &dest)),
        Command::Compact { dir } => (Some("compact"), commands::compact(&dir)),
        Command::Checkpoint { dir } => (Some("checkpoint"), commands::checkpoint(&dir)),
        Command::Completions { shell } => (Some("completions"), Ok(completions(shell))),
    }
}

/// The completion script for `shell`, generated from the command line's
/// description.
fn completions(shell: Shell) -> Report {
    let mut script = Vec::new();
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
    };
    clap_complete::generate(shell, &mut Cli::command(), "vecstore", &mut script);
    Report::ok(String::from_utf8_lossy(&script).into_owned())
}
