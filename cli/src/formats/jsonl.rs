//! JSON Lines: one `{"id": ..., "vector": [...]}` object per line, read and
//! written with `serde_json` (other fields are ignored; blank lines are
//! skipped). Floats are written as the shortest decimal that reads back to
//! the same float32, so an export imports again bit for bit.

use std::io::BufRead;

use serde::{Deserialize, Serialize};

use super::{Input, Output, VectorReader, VectorWriter};
use crate::fail::Failure;

#[derive(Deserialize)]
struct Line {
    id: u64,
    vector: Vec<f32>,
}

#[derive(Serialize)]
struct LineOut<'a> {
    id: u64,
    vector: &'a [f32],
}

/// Streams the vectors of a `.jsonl` file.
pub(super) struct Reader {
    input: Input,
    dim: u32,
    rows: u64,
    /// Lines read, blank ones included (for messages: 1-based numbers).
    line_no: u64,
    next: u64,
    text: String,
}

impl Reader {
    /// Counts the lines and reads the dimension from the first one.
    pub(super) fn new(input: Input) -> Result<Reader, Failure> {
        let mut reader = Reader {
            input,
            dim: 0,
            rows: 0,
            line_no: 0,
            next: 0,
            text: String::new(),
        };
        let mut first = None;
        while let Some(line) = reader.next_line()? {
            if first.is_none() {
                first = Some(line?);
            }
            reader.rows += 1;
        }
        if let Some(first) = first {
            reader.dim = u32::try_from(first.vector.len())
                .ok()
                .filter(|&d| d > 0)
                .ok_or_else(|| {
                    reader.input.bad(format!(
                        "line 1 holds a vector of dimension {}",
                        first.vector.len()
                    ))
                })?;
        }
        reader.input.rewind()?;
        reader.line_no = 0;
        Ok(reader)
    }

    /// The next non-blank line, parsed (the outer `Result` is the read,
    /// the inner one the parse, so that counting can skip parsing errors
    /// until the first line).
    fn next_line(&mut self) -> Result<Option<Result<Line, Failure>>, Failure> {
        loop {
            self.text.clear();
            let read = self
                .input
                .reader
                .read_line(&mut self.text)
                .map_err(|e| self.input.io(&e))?;
            if read == 0 {
                return Ok(None);
            }
            self.line_no += 1;
            if self.text.trim().is_empty() {
                continue;
            }
            let parsed = serde_json::from_str::<Line>(&self.text).map_err(|e| {
                self.input.bad(format!(
                    "line {}: {e} (each line is {{\"id\": ..., \"vector\": [...]}})",
                    self.line_no
                ))
            });
            return Ok(Some(parsed));
        }
    }
}

impl VectorReader for Reader {
    fn dim(&self) -> u32 {
        self.dim
    }

    fn rows(&self) -> u64 {
        self.rows
    }

    fn read_rows(
        &mut self,
        rows: &mut Vec<f32>,
        ids: &mut Vec<u64>,
        max: usize,
    ) -> Result<usize, Failure> {
        let mut n = 0;
        while n < max && self.next < self.rows {
            let Some(line) = self.next_line()? else {
                return Err(self
                    .input
                    .bad("the file is shorter than when it was counted"));
            };
            let line = line?;
            if line.vector.len() != self.dim as usize {
                return Err(self.input.bad(format!(
                    "line {} holds a vector of dimension {}, the first line has {}",
                    self.line_no,
                    line.vector.len(),
                    self.dim
                )));
            }
            rows.extend_from_slice(&line.vector);
            ids.push(line.id);
            self.next += 1;
            n += 1;
        }
        Ok(n)
    }
}

/// Writes a `.jsonl` file.
pub(super) struct Writer<'a> {
    output: &'a mut Output,
    line: Vec<u8>,
}

impl<'a> Writer<'a> {
    pub(super) fn new(output: &'a mut Output) -> Writer<'a> {
        Writer {
            output,
            line: Vec::new(),
        }
    }
}

impl VectorWriter for Writer<'_> {
    fn write_row(&mut self, id: u64, row: &[f32]) -> Result<(), Failure> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, &LineOut { id, vector: row })
            .expect("finite floats serialize");
        self.line.push(b'\n');
        self.output.write_bytes(&self.line)
    }

    fn finish(self: Box<Self>) -> Result<(), Failure> {
        Ok(())
    }
}
