//! Re-executing the test binary as a child process: the child runs one
//! `#[ignore]`d test (which does nothing unless its spec variable is set),
//! so a test can kill it, preload a shim into it, or lower its limits
//! without touching the parent.
//!
//! Two ways to run one: [`run`] a child to its end and read what it printed
//! (here), or talk to it while it runs and kill it ([`super::peer::Peer`]).

use std::process::{Command, ExitStatus};

/// The arguments that run only the ignored test `test` of this binary, with
/// its output uncaptured.
pub fn args(test: &str) -> [&str; 5] {
    [
        test,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]
}

/// The command that runs only the ignored test `test` of this binary (see
/// [`args`]).
pub fn command(test: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(args(test));
    cmd
}

/// A child run to its end.
pub struct Ran {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` (from [`command`], with its env) to its end, capturing its
/// stdout and stderr unless `cmd` sends them elsewhere.
pub fn run(cmd: &mut Command) -> Ran {
    let out = cmd.output().unwrap();
    Ran {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Ran {
    /// Panics ("`what` failed", with both outputs) unless the child exited
    /// successfully and printed the line `D` (its last step done).
    pub fn done(self, what: &str) -> Ran {
        assert!(
            self.status.success() && self.stdout.lines().any(|l| l == "D"),
            "{what} failed ({}):\n{}\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Its stdout lines that start with one of `prefixes`.
    pub fn lines_with(&self, prefixes: &[&str]) -> Vec<String> {
        self.stdout
            .lines()
            .filter(|l| prefixes.iter().any(|p| l.starts_with(p)))
            .map(String::from)
            .collect()
    }
}
