//! Read-only handles in reader processes watching a store while writer
//! processes change it (and are killed), and the check of what they saw.
//!
//! Operations carry numbers `g` that only grow, across writer processes too.
//! A writer stores `g` in the board's `BEGUN` before operation `g` starts
//! and, once it returned, in `ACKED` if readers must see it from then on (any
//! operation in a logged mode; a barrier in NONE mode). A reader loads
//! `ACKED`, reads the whole store in one call (`get_batch` over every id, or
//! one cursor), loads `BEGUN`, and reports `O <thread> <acked> <begun> <hash>`
//! (several threads of a reader process may share one handle, each with
//! its own sequence of observations).
//!
//! The parent keeps the [`Timeline`]: the states the store went through,
//! each tagged with the number of the operation that made it. Operations a
//! kill undid (as the next open found) are not in it. Each observation must
//! be a state of the timeline that was current at some instant between the
//! read's lower bound (`ACKED`, and the reader's previous observation: a view
//! never goes back) and its upper bound (`BEGUN`). A torn batch, a lost
//! acknowledged write, a write seen and then undone, or a view going back
//! matches no such state.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use vecstore::{Durability, ErrorKind, Options, Store};

use super::bits;
use super::board::{Board, ACKED, BEGUN, STOP};
use super::ops::{content_hash, Content, Op};
use super::peer::say;

/// Error lines a reader prints before it only counts them.
const SHOWN_ERRORS: u64 = 20;

/// One read: its bounds and what it saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    pub acked: u64,
    pub begun: u64,
    pub hash: u64,
}

/// What a reader process reported, per reading thread.
#[derive(Debug, Default)]
pub struct ReaderReport {
    /// Each thread's observations, in the order it made them.
    pub observations: BTreeMap<usize, Vec<Observation>>,
    /// `E ...` lines: reads (or opens) that failed.
    pub errors: Vec<String>,
    /// Each thread's final read (after `STOP`): `None` if the store never
    /// existed for it (or that read failed).
    pub last: BTreeMap<usize, Option<u64>>,
    pub reads: u64,
}

impl ReaderReport {
    /// Adds the reader's lines.
    pub fn take(&mut self, lines: impl IntoIterator<Item = String>) {
        for line in lines {
            let p: Vec<&str> = line.split(' ').collect();
            match p[0] {
                "O" => self
                    .observations
                    .entry(p[1].parse().unwrap())
                    .or_default()
                    .push(Observation {
                        acked: p[2].parse().unwrap(),
                        begun: p[3].parse().unwrap(),
                        hash: p[4].parse().unwrap(),
                    }),
                "E" => self.errors.push(line),
                "READY" => {}
                "F" => {
                    let thread = p[1].parse().unwrap();
                    if p[2] == "none" {
                        self.last.insert(thread, None);
                    } else {
                        self.last.insert(thread, Some(p[2].parse().unwrap()));
                        self.reads += p[4].parse::<u64>().unwrap();
                    }
                }
                _ => panic!("unexpected reader line {line:?}"),
            }
        }
    }

    /// Every observation, for counting.
    pub fn total(&self) -> usize {
        self.observations.values().map(Vec::len).sum()
    }

    /// Checks a reader of `threads` threads: no read failed, every thread's
    /// observations fit `timeline` (settled), and its final read showed
    /// `last` (`None`: no store). Returns the distinct states seen.
    pub fn verify(
        &self,
        who: &str,
        threads: usize,
        timeline: &Timeline,
        last: Option<u64>,
    ) -> Result<usize, String> {
        if !self.errors.is_empty() {
            return Err(format!("{who}: reads failed: {:?}", self.errors));
        }
        if self.last.len() != threads {
            return Err(format!(
                "{who}: {} of its {threads} threads finished",
                self.last.len()
            ));
        }
        for (t, seen) in &self.last {
            if *seen != last {
                return Err(format!(
                    "{who}, thread {t}: its last read, which started after the last writer was \
                     done, shows {seen:?}, not the final state {last:?}"
                ));
            }
        }
        let mut distinct = 0;
        for (t, observations) in &self.observations {
            distinct += timeline.check(&format!("{who}, thread {t}"), observations)?;
        }
        Ok(distinct)
    }
}

fn via_get_batch(store: &Store, ids: &[u64]) -> vecstore::Result<Content> {
    let dim = store.dimension() as usize;
    let mut out = vec![0.0; ids.len() * dim];
    let mut found = vec![false; ids.len()];
    store.get_batch(ids, &mut out, &mut found)?;
    Ok(ids
        .iter()
        .enumerate()
        .filter(|(i, _)| found[*i])
        .map(|(i, &id)| (id, bits(&out[i * dim..(i + 1) * dim])))
        .collect())
}

fn via_cursor(store: &Store) -> vecstore::Result<Content> {
    let mut content = Content::new();
    let mut cursor = store.cursor();
    while let Some((id, v)) = cursor.next()? {
        content.insert(id, bits(v));
    }
    Ok(content)
}

/// Says a failed read or open, the first few times.
struct Errors(AtomicU64);

impl Errors {
    fn report(&self, what: String) {
        if self.0.fetch_add(1, Ordering::Relaxed) < SHOWN_ERRORS {
            say(&format!("E {what}"));
        }
    }
}

/// The reader's loop (in a child process): opens `dir` read-only (waiting
/// for a writer to create it) and says `READY`, then `threads` threads share
/// that handle,
/// each reading and reporting (`O <thread> <acked> <begun> <hash>`) until
/// the board says stop, then one final read that started after that
/// (`F <thread> <hash> <len> <reads>`).
pub fn observe(dir: &Path, board: &Board, ids: &[u64], threads: usize) {
    let options = Options {
        read_only: true,
        ..Options::default()
    };
    let errors = Errors(AtomicU64::new(0));
    let store = loop {
        let stop = board.get(STOP) != 0;
        match Store::open(dir, 0, &options) {
            Ok(store) => {
                say("READY");
                break store;
            }
            Err(e) => {
                if e.kind() != ErrorKind::NotFound {
                    errors.report(format!("open {:?} {e}", e.kind()));
                }
                if stop {
                    for t in 0..threads {
                        say(&format!("F {t} none"));
                    }
                    return;
                }
                // Polling for the store to appear: nothing to wait on.
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    };
    std::thread::scope(|s| {
        for t in 0..threads {
            let (store, errors) = (&store, &errors);
            s.spawn(move || {
                let mut last = None;
                let mut reads = 0u64;
                loop {
                    let stop = board.get(STOP) != 0;
                    let acked = board.get(ACKED);
                    let content = if (reads + t as u64) % 4 == 3 {
                        via_cursor(store)
                    } else {
                        via_get_batch(store, ids)
                    };
                    let begun = board.get(BEGUN);
                    reads += 1;
                    match content {
                        Ok(content) => {
                            let hash = content_hash(&content);
                            if last != Some((acked, hash)) {
                                say(&format!("O {t} {acked} {begun} {hash}"));
                                last = Some((acked, hash));
                            }
                            if stop {
                                say(&format!("F {t} {hash} {} {reads}", content.len()));
                                return;
                            }
                        }
                        Err(e) => {
                            errors.report(format!("read {:?} {e}", e.kind()));
                            if stop {
                                say(&format!("F {t} none"));
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
}

// ---- the parent's side -------------------------------------------------------

/// A state of the store, made by operation `g` (0: the start).
struct Point {
    g: u64,
    hash: u64,
}

/// An operation of the current writer, not yet known to have lasted.
struct Tentative {
    g: u64,
    op: Op,
    mode: Durability,
    acked: bool,
    /// The store after it.
    content: Content,
}

/// The states the store went through, as the writers' reports and the
/// opens after kills tell.
pub struct Timeline {
    points: Vec<Point>,
    /// The content at the last point.
    base: Content,
    /// The operations of the last writer since its open.
    tail: Vec<Tentative>,
    /// After that writer was killed: the numbers of its operations the store
    /// may keep (a prefix of them), until an open tells which.
    killed: Option<Vec<usize>>,
}

impl Timeline {
    pub fn new(start: Content) -> Timeline {
        Timeline {
            points: vec![Point {
                g: 0,
                hash: content_hash(&start),
            }],
            base: start,
            tail: Vec::new(),
            killed: None,
        }
    }

    /// The store after every operation so far.
    pub fn content(&self) -> &Content {
        self.tail.last().map_or(&self.base, |t| &t.content)
    }

    /// The number of the last operation begun.
    pub fn last_g(&self) -> u64 {
        self.tail
            .last()
            .map_or(self.points.last().unwrap().g, |t| t.g)
    }

    /// Operation `g` began, in `mode`.
    pub fn begin(&mut self, g: u64, op: Op, mode: Durability) {
        assert!(
            self.killed.is_none(),
            "operation after a kill, before an open"
        );
        assert!(g > self.last_g(), "operation numbers must grow");
        let mut content = self.content().clone();
        op.apply(&mut content);
        self.tail.push(Tentative {
            g,
            op,
            mode,
            acked: false,
            content,
        });
    }

    /// Operation `g` returned.
    pub fn ack(&mut self, g: u64) {
        let t = self.tail.last_mut().expect("ack follows begin");
        assert_eq!(t.g, g, "ack of an operation not in flight");
        t.acked = true;
    }

    /// The writer was SIGKILLed (perhaps before its open returned).
    pub fn killed(&mut self) {
        if self.killed.is_some() {
            // Killed again before an open returned: it did nothing.
            return;
        }
        // Durable against a kill: everything up to the last acknowledged
        // operation run in a logged mode or that was a barrier.
        let acked = self.tail.iter().take_while(|t| t.acked).count();
        let safe = self.tail[..acked]
            .iter()
            .rposition(|t| t.mode != Durability::None || t.op.is_barrier(t.mode))
            .map_or(0, |i| i + 1);
        let mut allowed = vec![safe];
        if let Some(p) = self.tail.get(acked) {
            assert_eq!(acked + 1, self.tail.len(), "one operation in flight");
            if p.mode != Durability::None || p.op.is_barrier(p.mode) {
                allowed.push(acked + 1);
            }
        }
        self.killed = Some(allowed);
    }

    /// The writer closed the store: all of its operations lasted.
    pub fn closed(&mut self) {
        assert!(self.killed.is_none());
        self.settle(self.tail.len());
    }

    /// A writer's open returned and found `found` (a content hash): settles
    /// what a kill left. Errs if that is no state the kill may leave.
    pub fn opened(&mut self, found: u64) -> Result<(), String> {
        let allowed = self.killed.take().unwrap_or_else(|| vec![self.tail.len()]);
        let hash_at = |p: usize| match p {
            0 => content_hash(&self.base),
            p => content_hash(&self.tail[p - 1].content),
        };
        let Some(&p) = allowed.iter().rev().find(|&&p| hash_at(p) == found) else {
            let ops: Vec<String> = self
                .tail
                .iter()
                .map(|t| {
                    format!(
                        "{}{} {}",
                        t.g,
                        if t.acked { "" } else { "?" },
                        t.op.encode()
                    )
                })
                .collect();
            return Err(format!(
                "an open found a state (hash {found}) that the kill may not leave: allowed \
                 prefixes {allowed:?} of the killed writer's operations [{}]",
                ops.join("; ")
            ));
        };
        self.settle(p);
        Ok(())
    }

    /// Keeps the first `p` operations of the tail, drops the rest.
    fn settle(&mut self, p: usize) {
        let tail = std::mem::take(&mut self.tail);
        for t in tail.into_iter().take(p) {
            self.points.push(Point {
                g: t.g,
                hash: content_hash(&t.content),
            });
            self.base = t.content;
        }
    }

    /// States in the timeline.
    pub fn states(&self) -> usize {
        self.points.len()
    }

    /// Checks one reader's observations, in the order it made them (the
    /// timeline must be settled). Returns how many distinct states it saw.
    pub fn check(&self, who: &str, observations: &[Observation]) -> Result<usize, String> {
        assert!(self.tail.is_empty() && self.killed.is_none());
        let mut prev = 0u64;
        let mut distinct = 0;
        let mut last_point = usize::MAX;
        for (n, o) in observations.iter().enumerate() {
            let lo = o.acked.max(prev);
            // The state current at `lo`, then every later one up to `begun`.
            let mut e = self.points.partition_point(|p| p.g <= lo) - 1;
            let found = loop {
                match self.points.get(e) {
                    Some(p) if p.g <= o.begun => {
                        if p.hash == o.hash {
                            break Some(e);
                        }
                        e += 1;
                    }
                    _ => break None,
                }
            };
            let Some(e) = found else {
                let made_by: Vec<u64> = self
                    .points
                    .iter()
                    .filter(|p| p.hash == o.hash)
                    .map(|p| p.g)
                    .collect();
                return Err(format!(
                    "{who}, observation {n} of {}: read with acknowledged {} and begun {} \
                     (previous observation at operation {prev}) saw {}",
                    observations.len(),
                    o.acked,
                    o.begun,
                    if made_by.is_empty() {
                        "a state no sequence of acknowledged operations made (torn batch, lost or \
                         invented write)"
                            .to_string()
                    } else {
                        format!(
                            "the state made by operation(s) {made_by:?}, outside those bounds \
                             (older: a view that went back or missed an acknowledged write)"
                        )
                    }
                ));
            };
            if e != last_point {
                distinct += 1;
                last_point = e;
            }
            prev = lo.max(self.points[e].g);
        }
        Ok(distinct)
    }
}
