//! A progress bar on stderr, redrawn in place at most ten times a second,
//! shown only when stderr is a terminal.

use std::io::Write;
use std::time::{Duration, Instant};

const REDRAW: Duration = Duration::from_millis(100);
const BAR: usize = 30;

pub struct Progress {
    label: &'static str,
    total: u64,
    done: u64,
    started: Instant,
    tty: bool,
    /// When the bar was last drawn, if ever.
    drawn: Option<Instant>,
}

impl Progress {
    /// A bar for `total` vectors (drawn only if stderr is a terminal).
    pub fn new(label: &'static str, total: u64) -> Progress {
        // SAFETY: isatty only inspects the descriptor number.
        let tty = unsafe { libc::isatty(2) } == 1;
        Progress {
            label,
            total,
            done: 0,
            started: Instant::now(),
            tty,
            drawn: None,
        }
    }

    /// Records `n` more vectors done, redrawing if it is time (so the bar
    /// appears only for work that takes more than a tenth of a second).
    pub fn add(&mut self, n: u64) {
        self.done += n;
        if self.tty && self.drawn.unwrap_or(self.started).elapsed() >= REDRAW {
            self.draw();
        }
    }

    /// Draws the final state if the bar is shown; the line is ended when the
    /// bar is dropped.
    pub fn finish(&mut self) {
        if self.drawn.is_some() {
            self.draw();
        }
    }

    fn draw(&mut self) {
        let line = render(self.label, self.done, self.total, self.started.elapsed());
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line}\x1b[K");
        let _ = err.flush();
        self.drawn = Some(Instant::now());
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.drawn.is_some() {
            eprintln!();
        }
    }
}

/// `import  [#########.....]  62.5%  625000/1000000  48.1k vec/s  ETA 0:08`
pub fn render(label: &str, done: u64, total: u64, elapsed: Duration) -> String {
    let fraction = if total == 0 {
        1.0
    } else {
        (done as f64 / total as f64).min(1.0)
    };
    let filled = (fraction * BAR as f64).round() as usize;
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
    let tail = if done >= total {
        format!("in {}", clock(secs))
    } else if secs >= 1.0 && rate > 0.0 {
        format!("ETA {}", clock((total - done) as f64 / rate))
    } else {
        "ETA --:--".to_string()
    };
    format!(
        "{label:<9} [{}{}] {:>5.1}%  {done}/{total}  {} vec/s  {tail}",
        "#".repeat(filled),
        ".".repeat(BAR - filled),
        fraction * 100.0,
        si(rate)
    )
}

/// `1:05` or `2:01:05`.
fn clock(secs: f64) -> String {
    let s = secs.round() as u64;
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, m, s) => format!("{m}:{s:02}"),
        (h, m, s) => format!("{h}:{m:02}:{s:02}"),
    }
}

/// `950`, `48.1k`, `2.3M`.
fn si(x: f64) -> String {
    match x {
        x if x >= 1e6 => format!("{:.1}M", x / 1e6),
        x if x >= 1e3 => format!("{:.1}k", x / 1e3),
        x => format!("{x:.0}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_rate_and_eta() {
        let line = render("import", 250, 1000, Duration::from_secs(5));
        assert!(line.starts_with("import    [########......................]  25.0%"));
        assert!(line.contains("250/1000  50 vec/s  ETA 0:15"), "{line}");
        let line = render("export", 2_000_000, 2_000_000, Duration::from_secs(3725));
        assert!(line.contains("100.0%"));
        assert!(line.ends_with("537 vec/s  in 1:02:05"), "{line}");
        assert!(render("x", 0, 10, Duration::ZERO).ends_with("0 vec/s  ETA --:--"));
        assert!(render("x", 5, 10, Duration::from_millis(100)).ends_with("50 vec/s  ETA --:--"));
        assert!(render("x", 0, 0, Duration::ZERO).contains("100.0%"));
        assert_eq!(si(48_100.0), "48.1k");
        assert_eq!(si(2_345_678.0), "2.3M");
    }
}
