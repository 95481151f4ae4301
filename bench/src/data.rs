//! Deterministic pseudo-random data: a xorshift64* generator, the vectors of
//! one size and the random ids the read workloads ask for.

/// xorshift64*: small, fast and good enough for benchmark data.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // A zero state would stay zero; mix the seed so nearby seeds differ.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[0, n)` (multiply-shift; the bias is negligible here).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `[-1, 1)`.
    pub fn unit_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// One benchmark size: `n` vectors of `dim` floats, row-major, id = row.
pub struct Dataset {
    pub n: usize,
    pub dim: usize,
    pub flat: Vec<f32>,
    seed: u64,
}

impl Dataset {
    pub fn generate(n: usize, dim: usize, seed: u64) -> Dataset {
        let mut rng = Rng::new(seed ^ (n as u64) << 20 ^ dim as u64);
        let flat = (0..n * dim).map(|_| rng.unit_f32()).collect();
        Dataset { n, dim, flat, seed }
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.flat[i * self.dim..(i + 1) * self.dim]
    }

    /// Rows `[first, first + count)` as one row-major slice.
    pub fn rows(&self, first: usize, count: usize) -> &[f32] {
        &self.flat[first * self.dim..(first + count) * self.dim]
    }

    pub fn vector_bytes(&self) -> usize {
        self.dim * 4
    }

    pub fn data_bytes(&self) -> usize {
        self.n * self.vector_bytes()
    }

    /// `count` ids drawn uniformly from `[0, n)`, the same for every store.
    pub fn random_ids(&self, count: usize, stream: u64) -> Vec<u64> {
        let mut rng = Rng::new(self.seed ^ stream.wrapping_mul(0xD6E8_FEB8_6659_FD93));
        (0..count).map(|_| rng.below(self.n as u64)).collect()
    }

    /// `count` query vectors that are not stored rows.
    pub fn queries(&self, count: usize) -> Vec<f32> {
        let mut rng = Rng::new(self.seed ^ 0xA5A5_A5A5);
        (0..count * self.dim).map(|_| rng.unit_f32()).collect()
    }
}
