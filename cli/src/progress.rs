//! Progress bars on stderr (indicatif): rate and ETA, drawn only when
//! stderr is a terminal, so pipes and logs get nothing.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

const TEMPLATE: &str =
    "{msg:<9} [{bar:30}] {percent:>3}%  {human_pos}/{human_len}  {per_sec}  ETA {eta}";

/// A bar counting vectors; hidden unless stderr is a terminal.
pub struct Progress(ProgressBar);

impl Progress {
    pub fn new(label: &'static str, total: u64) -> Progress {
        let bar = if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(TEMPLATE)
                    .expect("a valid template")
                    .progress_chars("#>."),
            );
            bar.set_message(label);
            bar
        } else {
            ProgressBar::hidden()
        };
        Progress(bar)
    }

    /// Records `n` more vectors done (redrawn at most a few times a second).
    pub fn add(&self, n: u64) {
        self.0.inc(n);
    }

    /// Leaves the final state on the terminal.
    pub fn finish(&self) {
        self.0.finish();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // A bar dropped by an error is cleared, not left half-drawn.
        if !self.0.is_finished() {
            self.0.finish_and_clear();
        }
    }
}
