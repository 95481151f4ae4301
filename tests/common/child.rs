//! Re-executing the test binary as a child process: the child runs one
//! `#[ignore]`d test (which does nothing unless its spec variable is set),
//! so a test can kill it, preload a shim into it, or lower its limits
//! without touching the parent.

use std::process::Command;

/// The command that runs only the ignored test `test` of this binary, with
/// its output uncaptured.
pub fn command(test: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        test,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    cmd
}
