//! A child process driven by a line protocol: the parent writes commands to
//! its stdin, the child answers with lines that start with `@ ` on stdout
//! (anything else there, libtest's own chatter included, is ignored). Every
//! wait is for a line, never for a time; a generous watchdog
//! (`VECSTORE_TEST_HANG_SECS`, default 600) turns a hang into a failure
//! that names the child, instead of a test that never ends.
//!
//! A `Peer` dropped while its child still runs (a failing test) kills it.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{child, env_u64};

const PREFIX: &str = "@ ";

fn hang_limit() -> Duration {
    Duration::from_secs(env_u64("VECSTORE_TEST_HANG_SECS").unwrap_or(600))
}

pub struct Peer {
    pub name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Option<JoinHandle<String>>,
    status: Option<ExitStatus>,
}

impl Peer {
    /// Runs the ignored test `test` of this binary with `env`.
    pub fn spawn(test: &str, name: &str, env: &[(&str, String)]) -> Peer {
        let mut cmd = child::command(test);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: spawn: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            let mut out = BufReader::new(stdout);
            let mut line = String::new();
            // A line is complete with its newline: a kill may cut the last.
            while out.read_line(&mut line).unwrap_or(0) > 0 && line.ends_with('\n') {
                if let Some(rest) = line.trim_end_matches('\n').strip_prefix(PREFIX) {
                    if tx.send(rest.to_string()).is_err() {
                        break;
                    }
                }
                line.clear();
            }
        });
        let mut err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Peer {
            name: name.to_string(),
            stdin: child.stdin.take(),
            child,
            lines,
            stderr: Some(stderr),
            status: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends one command line.
    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        if writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .is_err()
        {
            let why = self.death();
            panic!("{}: cannot send {line:?}: {why}", self.name);
        }
    }

    /// The next line; panics (with the child's stderr) if it exits first.
    pub fn recv(&mut self) -> String {
        self.recv_by(Instant::now() + hang_limit())
    }

    /// Like [`Peer::recv`], but kills the child and panics if no line comes
    /// by `deadline` (instead of the watchdog's limit).
    pub fn recv_by(&mut self, deadline: Instant) -> String {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(line) => line,
            Err(RecvTimeoutError::Disconnected) => {
                let why = self.death();
                panic!("{}: no more answers: {why}", self.name)
            }
            Err(RecvTimeoutError::Timeout) => {
                let _ = self.child.kill();
                panic!("{}: no answer within {left:?}: hung (killed)", self.name)
            }
        }
    }

    /// Sends `command` and returns the answer.
    pub fn ask(&mut self, command: &str) -> String {
        self.send(command);
        self.recv()
    }

    /// Lines already received, without waiting.
    pub fn drain(&mut self) -> Vec<String> {
        self.lines.try_iter().collect()
    }

    /// How it exited, if it has (without waiting).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().unwrap();
        }
        self.status
    }

    /// SIGKILL, and waits for it; returns every line it printed that was
    /// not yet received.
    pub fn kill(&mut self) -> Vec<String> {
        let _ = self.child.kill();
        let status = self.child.wait().unwrap();
        self.status = Some(status);
        self.rest()
    }

    /// Closes its stdin and waits for it to exit; returns its status and
    /// every line not yet received.
    pub fn finish(&mut self) -> (ExitStatus, Vec<String>) {
        self.stdin = None;
        let status = self.child.wait().unwrap();
        self.status = Some(status);
        (status, self.rest())
    }

    /// Like [`Peer::finish`], but panics unless it exited successfully.
    pub fn finish_ok(&mut self) -> Vec<String> {
        let (status, lines) = self.finish();
        if !status.success() {
            let err = self.stderr_text();
            panic!("{}: exited with {status}:\n{err}", self.name);
        }
        lines
    }

    /// Its stderr, once it has exited.
    pub fn stderr_text(&mut self) -> String {
        self.stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default()
    }

    fn rest(&mut self) -> Vec<String> {
        // The stdout thread ends at EOF, which follows the exit.
        let mut out = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(hang_limit()) {
            out.push(line);
        }
        out
    }

    /// How the child ended (waits for it), with its stderr.
    fn death(&mut self) -> String {
        let status = match self.status {
            Some(s) => s,
            None => {
                let s = self.child.wait().unwrap();
                self.status = Some(s);
                s
            }
        };
        format!("exited with {status}; stderr:\n{}", self.stderr_text())
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---- the child's side --------------------------------------------------------

/// Call first in a child: libtest may have printed `test ... ` without a
/// newline, and answers must start a line.
pub fn start() {
    let mut out = std::io::stdout().lock();
    writeln!(out).unwrap();
    out.flush().unwrap();
}

/// Prints one answer line.
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{PREFIX}{line}").unwrap();
    out.flush().unwrap();
}

/// The commands on stdin, one per line, until it closes.
pub fn commands() -> impl Iterator<Item = String> {
    std::io::stdin().lines().map_while(Result::ok)
}
