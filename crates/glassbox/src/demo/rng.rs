//! A small seeded pseudo-random generator, so that one seed always gives the same workload.

/// SplitMix64: fast and statistically fine for made-up data, and not for anything secret.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// Creates a generator whose whole output follows from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// Creates the generator of item `index` of stream `stream`, independent of its neighbours,
    /// so that one trace or session can be generated without generating those before it.
    pub fn derive(seed: u64, stream: u64, index: u64) -> Rng {
        Rng::new(mix(seed ^ mix(stream ^ mix(index))))
    }

    /// Returns the next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.state)
    }

    /// Returns a number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Returns a number in `low..=high`.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next_u64() % (high - low + 1)
    }

    /// Returns a number in `[low, high)`.
    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// Returns a number in `[low, high)` whose logarithm is uniform: small values are as
    /// likely as large ones relative to their size, as with latencies and gaps between visits.
    pub fn log_uniform(&mut self, low: f64, high: f64) -> f64 {
        (low.ln() + (high.ln() - low.ln()) * self.unit()).exp()
    }

    /// Returns true with the given probability.
    pub fn chance(&mut self, probability: f64) -> bool {
        self.unit() < probability
    }

    /// Returns one item of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let index = self.next_u64() % items.len() as u64;
        &items[index as usize]
    }

    /// Returns a copy of one item of a non-empty slice.
    pub fn choose<T: Copy>(&mut self, items: &[T]) -> T {
        *self.pick(items)
    }

    /// Returns one item of a non-empty slice of `(item, weight)` pairs, with a chance
    /// proportional to its weight.
    pub fn weighted<'a, T>(&mut self, items: &'a [(T, u32)]) -> &'a T {
        let total: u64 = items.iter().map(|(_, weight)| u64::from(*weight)).sum();
        let mut target = self.next_u64() % total.max(1);
        for (item, weight) in items {
            if target < u64::from(*weight) {
                return item;
            }
            target -= u64::from(*weight);
        }
        &items[items.len() - 1].0
    }

    /// Returns a span id: 8 random bytes, never all zero (OTLP's invalid id).
    pub fn span_id(&mut self) -> [u8; 8] {
        (self.next_u64() | 1).to_be_bytes()
    }

    /// Returns a trace id: 16 random bytes, never all zero.
    pub fn trace_id(&mut self) -> [u8; 16] {
        let mut id = [0; 16];
        id[..8].copy_from_slice(&self.next_u64().to_be_bytes());
        id[8..].copy_from_slice(&(self.next_u64() | 1).to_be_bytes());
        id
    }

    /// Returns a random version 4 UUID in its usual text form.
    pub fn uuid(&mut self) -> String {
        let high = (self.next_u64() & !0xF000) | 0x4000;
        let low = (self.next_u64() & !(0b11 << 62)) | (0b10 << 62);
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            high >> 32,
            (high >> 16) & 0xFFFF,
            high & 0xFFFF,
            low >> 48,
            low & 0xFFFF_FFFF_FFFF
        )
    }
}

/// The SplitMix64 output function, also used to derive independent seeds.
pub fn mix(value: u64) -> u64 {
    let mut z = value;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let mut first = Rng::new(7);
        let mut second = Rng::new(7);
        for _ in 0..100 {
            assert_eq!(first.next_u64(), second.next_u64());
        }
    }

    #[test]
    fn derived_streams_differ() {
        let first = Rng::derive(1, 2, 3).next_u64();
        assert_ne!(first, Rng::derive(1, 2, 4).next_u64());
        assert_ne!(first, Rng::derive(1, 3, 3).next_u64());
        assert_ne!(first, Rng::derive(2, 2, 3).next_u64());
    }

    #[test]
    fn weighted_follows_weights() {
        let mut rng = Rng::new(3);
        let items = [("rare", 1), ("common", 9), ("never", 0)];
        let mut common = 0;
        for _ in 0..10_000 {
            let item = *rng.weighted(&items);
            assert_ne!(item, "never");
            common += usize::from(item == "common");
        }
        assert!((8_700..9_300).contains(&common), "{common}");
    }

    #[test]
    fn uuid_has_version_and_variant() {
        let uuid = Rng::new(5).uuid();
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
        assert!(matches!(&uuid[19..20], "8" | "9" | "a" | "b"), "{uuid}");
    }
}
