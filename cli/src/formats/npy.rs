//! NumPy `.npy` files of little-endian float32 in C order: a magic string, a
//! version, a header dictionary (`descr`, `fortran_order`, `shape`), then the
//! values. Shape `(n, d)` is n vectors; shape `(d,)` is one vector.

use super::{Input, Output, VectorReader, VectorWriter};
use crate::fail::{code, Failure};

const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Streams the rows of an `.npy` file.
pub(super) struct Reader {
    input: Input,
    dim: u32,
    rows: u64,
    next: u64,
}

impl Reader {
    pub(super) fn new(mut input: Input) -> Result<Reader, Failure> {
        let mut preamble = [0u8; 8];
        input.read_exact(&mut preamble)?;
        if &preamble[..6] != MAGIC {
            return Err(input.bad("not an .npy file (bad magic string)"));
        }
        let (header_len, len_bytes) = match preamble[6] {
            1 => {
                let mut b = [0u8; 2];
                input.read_exact(&mut b)?;
                (u64::from(u16::from_le_bytes(b)), 2)
            }
            2 | 3 => (u64::from(input.read_u32()?), 4),
            v => return Err(input.bad(format!(".npy format version {v} is not supported"))),
        };
        let data_start = 8 + len_bytes + header_len;
        if data_start > input.len() {
            return Err(input.bad("file is truncated inside its header"));
        }
        let mut header = vec![0u8; header_len as usize];
        input.read_exact(&mut header)?;
        let header = Header::parse(&String::from_utf8_lossy(&header))
            .map_err(|e| input.bad(format!("bad .npy header: {e}")))?;
        let (rows, dim) = header.check().map_err(|e| input.bad(e))?;
        let expected = rows
            .checked_mul(dim as u64)
            .and_then(|n| n.checked_mul(4))
            .ok_or_else(|| input.bad("shape is too large"))?;
        let found = input.len() - data_start;
        if found != expected {
            return Err(input.bad(format!(
                "shape ({rows}, {dim}) needs {expected} bytes of data, the file has {found}: {}",
                if found < expected {
                    "the file is truncated"
                } else {
                    "trailing bytes after the data"
                }
            )));
        }
        Ok(Reader {
            input,
            dim,
            rows,
            next: 0,
        })
    }
}

impl VectorReader for Reader {
    fn dim(&self) -> u32 {
        self.dim
    }

    fn rows(&self) -> u64 {
        self.rows
    }

    fn read_rows(&mut self, out: &mut Vec<f32>, max: usize) -> Result<usize, Failure> {
        let n = (self.rows - self.next).min(max as u64) as usize;
        self.input.read_f32s(n * self.dim as usize, out)?;
        self.next += n as u64;
        Ok(n)
    }
}

/// Writes an `.npy` file of a shape fixed up front.
pub(super) struct Writer {
    output: Output,
    rows: u64,
    written: u64,
}

impl Writer {
    pub(super) fn new(mut output: Output, dim: u32, rows: u64) -> Result<Writer, Failure> {
        output.write(&encode_header(rows, dim))?;
        Ok(Writer {
            output,
            rows,
            written: 0,
        })
    }
}

impl VectorWriter for Writer {
    fn write_row(&mut self, row: &[f32]) -> Result<(), Failure> {
        self.written += 1;
        self.output.write_f32s(row)
    }

    fn finish(self: Box<Self>) -> Result<(), Failure> {
        if self.written != self.rows {
            return Err(Failure::new(
                code::OTHER,
                format!(
                    "wrote {} vectors but the .npy header announced {}",
                    self.written, self.rows
                ),
            ));
        }
        self.output.commit()
    }
}

/// A version 1.0 header for `rows` float32 vectors of `dim`, padded so that
/// the data starts at a multiple of 64 bytes.
fn encode_header(rows: u64, dim: u32) -> Vec<u8> {
    let mut dict =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {dim}), }}");
    let unpadded = MAGIC.len() + 2 + 2 + dict.len() + 1;
    dict.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    dict.push('\n');
    let mut out = Vec::with_capacity(10 + dict.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

/// The fields of an `.npy` header dictionary that matter here.
#[derive(Debug, PartialEq)]
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<u64>,
}

impl Header {
    /// Parses the Python literal `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
    fn parse(text: &str) -> Result<Header, String> {
        let mut p = Lexer(text.trim_end());
        let (mut descr, mut fortran_order, mut shape) = (None, None, None);
        p.expect('{')?;
        while !p.eat('}') {
            let key = p.string()?;
            p.expect(':')?;
            match key.as_str() {
                "descr" => descr = Some(p.string()?),
                "fortran_order" => fortran_order = Some(p.boolean()?),
                "shape" => shape = Some(p.tuple()?),
                other => return Err(format!("unexpected key '{other}'")),
            }
            if !p.eat(',') {
                p.expect('}')?;
                break;
            }
        }
        if !p.0.trim().is_empty() {
            return Err("text after the dictionary".into());
        }
        Ok(Header {
            descr: descr.ok_or("no 'descr'")?,
            fortran_order: fortran_order.ok_or("no 'fortran_order'")?,
            shape: shape.ok_or("no 'shape'")?,
        })
    }

    /// `(rows, dim)` if the header describes float32 vectors vecstore can read.
    fn check(&self) -> Result<(u64, u32), String> {
        if self.descr != "<f4" {
            return Err(format!(
                "dtype '{}' is not supported: save little-endian float32 ('<f4'), e.g. array.astype('<f4')",
                self.descr
            ));
        }
        let (rows, dim) = match self.shape[..] {
            [dim] => (1, dim),
            [rows, dim] => (rows, dim),
            _ => {
                return Err(format!(
                    "shape {:?} is not 2-D (vectors, dimension)",
                    self.shape
                ))
            }
        };
        if self.fortran_order && rows > 1 && dim > 1 {
            return Err(
                "the array is in Fortran order: save a C-order copy (numpy.ascontiguousarray)"
                    .into(),
            );
        }
        let dim = u32::try_from(dim)
            .ok()
            .filter(|&d| d > 0)
            .ok_or_else(|| format!("dimension {dim} is not between 1 and {}", u32::MAX))?;
        Ok((rows, dim))
    }
}

/// A cursor over the header text.
struct Lexer<'a>(&'a str);

impl Lexer<'_> {
    fn eat(&mut self, c: char) -> bool {
        self.0 = self.0.trim_start();
        match self.0.strip_prefix(c) {
            Some(rest) => {
                self.0 = rest;
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected '{c}' at \"{}\"", self.0))
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.0 = self.0.trim_start();
        let quote = match self.0.chars().next() {
            Some(q @ ('\'' | '"')) => q,
            _ => return Err(format!("expected a string at \"{}\"", self.0)),
        };
        let body = &self.0[1..];
        let end = body.find(quote).ok_or("unterminated string")?;
        self.0 = &body[end + 1..];
        Ok(body[..end].to_string())
    }

    fn boolean(&mut self) -> Result<bool, String> {
        self.0 = self.0.trim_start();
        for (word, value) in [("True", true), ("False", false)] {
            if let Some(rest) = self.0.strip_prefix(word) {
                self.0 = rest;
                return Ok(value);
            }
        }
        Err(format!("expected True or False at \"{}\"", self.0))
    }

    fn tuple(&mut self) -> Result<Vec<u64>, String> {
        self.expect('(')?;
        let mut items = Vec::new();
        while !self.eat(')') {
            self.0 = self.0.trim_start();
            let digits = self
                .0
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(self.0.len());
            let n = self.0[..digits]
                .parse()
                .map_err(|_| format!("expected a size at \"{}\"", self.0))?;
            self.0 = &self.0[digits..];
            items.push(n);
            if !self.eat(',') {
                self.expect(')')?;
                break;
            }
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_numpy_writes() {
        let h = Header::parse(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1000, 128), }          \n",
        )
        .unwrap();
        assert_eq!(h.check().unwrap(), (1000, 128));
        let h = Header::parse("{'descr':'<f4','fortran_order':True,'shape':(7,)}").unwrap();
        assert_eq!(h.check().unwrap(), (1, 7));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        let check = |text: &str| Header::parse(text).and_then(|h| h.check().map(|_| ()));
        assert!(
            check("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }")
                .unwrap_err()
                .contains("'<f8' is not supported")
        );
        assert!(
            check("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }")
                .unwrap_err()
                .contains("Fortran order")
        );
        assert!(
            check("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }")
                .unwrap_err()
                .contains("not 2-D")
        );
        assert!(check("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 0), }").is_err());
        assert!(check("{'descr': '<f4', 'shape': (2, 3), }")
            .unwrap_err()
            .contains("fortran_order"));
        assert!(check("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }").is_err());
        assert!(check("{'descr': '<f4'").is_err());
    }

    #[test]
    fn header_round_trips_and_aligns_data() {
        let bytes = encode_header(12345, 77);
        assert_eq!(bytes.len() % 64, 0);
        let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!(10 + len, bytes.len());
        let h = Header::parse(std::str::from_utf8(&bytes[10..]).unwrap()).unwrap();
        assert_eq!(h.check().unwrap(), (12345, 77));
    }
}
