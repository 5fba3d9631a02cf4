//! A mergeable quantile sketch with a relative-error guarantee (DDSketch).
//!
//! Values are mapped to buckets whose bounds grow geometrically by `gamma = (1 + a) / (1 - a)`,
//! so any quantile read from the sketch is within a relative error `a` of a value of the data
//! (1% here). Two sketches with the same `a` merge by adding bucket counts, so rollups can
//! give percentiles over any range. Only non-negative values are kept
//! (latencies, TTFT, token rates); zero and values below [`MIN_VALUE`] share one bucket.
//!
//! The encoding is compact so a rollup row stays small: a version byte, the count, min, max,
//! sum, the zero count, then the sparse buckets as zig-zag varint key deltas with varint
//! counts.

/// Relative accuracy of every sketch.
pub const RELATIVE_ACCURACY: f64 = 0.01;

/// Values below this are counted as zero.
pub const MIN_VALUE: f64 = 1e-9;

const ENCODING_VERSION: u8 = 1;

/// A DDSketch over non-negative values.
///
/// Bucket counts are dense from the lowest to the highest key seen. Values between
/// [`MIN_VALUE`] and 10^12 span fewer than 2,500 buckets at 1% accuracy and typical latencies a
/// few hundred, so a vector merges and decodes far faster than a map.
#[derive(Debug, Clone)]
pub struct Sketch {
    /// Key of `counts[0]`.
    offset: i32,
    counts: Vec<u64>,
    zero_count: u64,
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Default for Sketch {
    fn default() -> Self {
        Sketch {
            offset: 0,
            counts: Vec::new(),
            zero_count: 0,
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

/// Two sketches are equal when they hold the same counts, whatever empty buckets their dense
/// ranges carry at the edges.
impl PartialEq for Sketch {
    fn eq(&self, other: &Sketch) -> bool {
        self.zero_count == other.zero_count
            && self.count == other.count
            && self.sum == other.sum
            && self.min == other.min
            && self.max == other.max
            && self.buckets().eq(other.buckets())
    }
}

fn gamma_ln() -> f64 {
    ((1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY)).ln()
}

impl Sketch {
    /// Creates an empty sketch.
    pub fn new() -> Sketch {
        Sketch::default()
    }

    /// Adds a value; negative, NaN and infinite values are ignored.
    pub fn add(&mut self, value: f64) {
        if !value.is_finite() || value < 0.0 {
            return;
        }
        if value < MIN_VALUE {
            self.zero_count += 1;
        } else {
            let key = (value.ln() / gamma_ln()).ceil() as i32;
            self.add_to_bucket(key, 1);
        }
        self.count += 1;
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    /// Adds `count` to the bucket of `key`, growing the dense range as needed.
    fn add_to_bucket(&mut self, key: i32, count: u64) {
        if self.counts.is_empty() {
            self.offset = key;
            self.counts.push(0);
        } else if key < self.offset {
            let missing = (self.offset - key) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, missing));
            self.offset = key;
        } else if (key - self.offset) as usize >= self.counts.len() {
            self.counts.resize((key - self.offset) as usize + 1, 0);
        }
        self.counts[(key - self.offset) as usize] += count;
    }

    /// Iterates over non-empty buckets as (key, count), lowest key first.
    fn buckets(&self) -> impl Iterator<Item = (i32, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, count)| **count > 0)
            .map(|(index, count)| (self.offset + index as i32, *count))
    }

    /// Adds every value of another sketch.
    pub fn merge(&mut self, other: &Sketch) {
        if other.count == 0 {
            return;
        }
        if let Some(last) = other.counts.len().checked_sub(1) {
            // Grow once to cover the other sketch's whole range, then add in place.
            self.add_to_bucket(other.offset, 0);
            self.add_to_bucket(other.offset + last as i32, 0);
            let start = (other.offset - self.offset) as usize;
            for (slot, count) in self.counts[start..].iter_mut().zip(&other.counts) {
                *slot += count;
            }
        }
        self.zero_count += other.zero_count;
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Returns the number of values.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Returns the sum of the values.
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// Returns the value at quantile `q` (0 to 1), `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let rank = (q * (self.count - 1) as f64).floor() as u64;
        if rank < self.zero_count {
            return Some(self.min.max(0.0));
        }
        let mut seen = self.zero_count;
        for (key, count) in self.buckets() {
            seen += count;
            if seen > rank {
                let gamma = gamma_ln().exp();
                // The middle of the bucket (gamma^(k-1), gamma^k] in the relative sense.
                let value = 2.0 * gamma.powi(key) / (1.0 + gamma);
                return Some(value.clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }

    /// Encodes the sketch as bytes.
    pub fn encode(&self) -> Vec<u8> {
        let buckets: Vec<(i32, u64)> = self.buckets().collect();
        let mut out = Vec::with_capacity(40 + buckets.len() * 3);
        out.push(ENCODING_VERSION);
        write_varint(&mut out, self.count);
        for value in [self.min, self.max, self.sum] {
            out.extend_from_slice(&value.to_le_bytes());
        }
        write_varint(&mut out, self.zero_count);
        write_varint(&mut out, buckets.len() as u64);
        let mut previous = 0i64;
        for (key, count) in buckets {
            let delta = i64::from(key) - previous;
            write_varint(&mut out, ((delta << 1) ^ (delta >> 63)) as u64);
            write_varint(&mut out, count);
            previous = i64::from(key);
        }
        out
    }

    /// Decodes bytes produced by [`Sketch::encode`]; `None` when they are not a sketch.
    pub fn decode(bytes: &[u8]) -> Option<Sketch> {
        let mut reader = Reader { bytes, at: 0 };
        if reader.byte()? != ENCODING_VERSION {
            return None;
        }
        let count = reader.varint()?;
        let min = reader.f64()?;
        let max = reader.f64()?;
        let sum = reader.f64()?;
        let zero_count = reader.varint()?;
        let bucket_count = reader.varint()?;
        let mut sketch = Sketch {
            zero_count,
            count,
            sum,
            min,
            max,
            ..Sketch::default()
        };
        let mut key = 0i64;
        let mut previous: Option<i32> = None;
        for _ in 0..bucket_count {
            let zigzag = reader.varint()?;
            key += ((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64);
            let key = i32::try_from(key).ok()?;
            // Keys are written in increasing order; anything else is not a sketch of ours, and
            // an absurd range would allocate without bound.
            if previous.is_some_and(|previous| key <= previous)
                || i64::from(key) - i64::from(previous.unwrap_or(key)) > 100_000
            {
                return None;
            }
            if previous.is_none() {
                sketch.offset = key;
            }
            sketch.add_to_bucket(key, reader.varint()?);
            previous = Some(key);
        }
        Some(sketch)
    }
}

fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let byte = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Some(value);
            }
        }
        None
    }

    fn f64(&mut self) -> Option<f64> {
        let bytes = self.bytes.get(self.at..self.at + 8)?;
        self.at += 8;
        Some(f64::from_le_bytes(bytes.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator, so the test data is the same on every run.
    fn xorshift(state: &mut u64) -> f64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        (*state >> 11) as f64 / (1u64 << 53) as f64
    }

    fn exact_quantile(sorted: &[f64], q: f64) -> f64 {
        sorted[(q * (sorted.len() - 1) as f64).floor() as usize]
    }

    #[test]
    fn quantiles_are_within_relative_accuracy() {
        let mut state = 0x9e37_79b9_7f4a_7c15;
        let mut values: Vec<f64> = (0..50_000)
            .map(|_| {
                let u = xorshift(&mut state);
                // A long-tailed latency distribution between 1 ms and about 20 s.
                (u * 10.0).exp()
            })
            .collect();
        let mut sketch = Sketch::new();
        for value in &values {
            sketch.add(*value);
        }
        values.sort_by(f64::total_cmp);
        for q in [0.0, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            let exact = exact_quantile(&values, q);
            let estimate = sketch.quantile(q).unwrap();
            let error = (estimate - exact).abs() / exact;
            assert!(
                error <= RELATIVE_ACCURACY + 1e-9,
                "q={q}: {estimate} vs {exact} ({error})"
            );
        }
    }

    #[test]
    fn merged_sketches_match_one_sketch_of_all_values() {
        let mut state = 42;
        let mut parts = vec![Sketch::new(); 10];
        let mut whole = Sketch::new();
        for index in 0..10_000 {
            let value = xorshift(&mut state) * 500.0;
            parts[index % 10].add(value);
            whole.add(value);
        }
        let mut merged = Sketch::new();
        for part in &parts {
            merged.merge(part);
        }
        assert_eq!(merged.count(), whole.count());
        for q in [0.5, 0.9, 0.99] {
            assert_eq!(merged.quantile(q), whole.quantile(q));
        }
    }

    #[test]
    fn encoding_round_trips() {
        let mut sketch = Sketch::new();
        for value in [0.0, 0.5, 3.0, 3.0, 1500.0, 1e-12] {
            sketch.add(value);
        }
        let decoded = Sketch::decode(&sketch.encode()).unwrap();
        assert_eq!(decoded, sketch);
        assert_eq!(Sketch::decode(&[]), None);
        assert_eq!(Sketch::decode(&[9, 1]), None);
    }

    #[test]
    fn zeros_and_invalid_values() {
        let mut sketch = Sketch::new();
        sketch.add(f64::NAN);
        sketch.add(-1.0);
        assert_eq!(sketch.quantile(0.5), None);
        sketch.add(0.0);
        sketch.add(0.0);
        sketch.add(10.0);
        assert_eq!(sketch.quantile(0.5), Some(0.0));
        let top = sketch.quantile(1.0).unwrap();
        assert!((top - 10.0).abs() / 10.0 <= RELATIVE_ACCURACY);
    }
}
