//! Shared by the no-panic tests: a fixed-seed generator and a mutator that
//! damages valid messages the way a hostile caller would (flipped bytes,
//! truncation, junk appended, interesting values poked into length fields).

/// xorshift64*: small, deterministic, good enough to spray bytes.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One to four random damages to `seed`; `interesting` are u32 values (lengths,
/// types, flags) worth poking at aligned offsets.
pub fn mutate(rng: &mut Rng, seed: &[u8], interesting: &[u32]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(4) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] = rng.next() as u8;
            }
            1 => b.truncate(rng.below(b.len() + 1)),
            2 => b.extend((0..rng.below(64)).map(|_| rng.next() as u8)),
            _ if b.len() >= 4 && !interesting.is_empty() => {
                let i = rng.below(b.len() / 4) * 4;
                let v = interesting[rng.below(interesting.len())];
                b[i..i + 4].copy_from_slice(&v.to_ne_bytes());
            }
            _ => {}
        }
    }
    b
}
