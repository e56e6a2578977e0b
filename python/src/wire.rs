//! The bytes Spark tasks send to the driver: pass statistics written as little-endian
//! numbers in a fixed order (a tag, then the shape, then the values), read back on the
//! driver exactly as they were computed, so merging them there is bit-for-bit the merge a
//! single machine does.

use custseg::backend::mixture::MixtureStats;
use custseg::backend::LloydStats;
use pyo3::exceptions::PyValueError;
use pyo3::PyResult;

/// First byte of a serialised K-Means partition.
pub const LLOYD_TAG: u8 = b'L';
/// First byte of serialised mixture statistics.
pub const MIXTURE_TAG: u8 = b'M';

/// Appends numbers to a byte buffer.
#[derive(Default)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    /// A buffer that starts with `tag`.
    pub fn new(tag: u8) -> Self {
        Writer(vec![tag])
    }

    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    pub fn f64s(&mut self, v: &[f64]) {
        v.iter().for_each(|x| self.0.extend_from_slice(&x.to_le_bytes()));
    }

    pub fn f32s(&mut self, v: &[f32]) {
        v.iter().for_each(|x| self.0.extend_from_slice(&x.to_le_bytes()));
    }

    /// Lloyd statistics: k, dim, sums, weights, counts, inertia, changed.
    pub fn lloyd(&mut self, s: &LloydStats) {
        self.u64(s.k as u64);
        self.u64(s.dim as u64);
        self.f64s(&s.sums);
        self.f64s(&s.weights);
        s.counts.iter().for_each(|&c| self.u64(c));
        self.f64s(&[s.inertia]);
        self.u64(s.changed);
    }

    /// Mixture statistics: k, dim, full, resp, sum_x, sum_xx, log-likelihood, weight.
    pub fn mixture(&mut self, s: &MixtureStats) {
        self.u64(s.k as u64);
        self.u64(s.dim as u64);
        self.u64(s.full as u64);
        self.f64s(&s.resp);
        self.f64s(&s.sum_x);
        self.f64s(&s.sum_xx);
        self.f64s(&[s.log_likelihood, s.weight]);
    }
}

/// Reads numbers back in the order a [`Writer`] wrote them.
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader of `bytes`, which must start with `tag`.
    pub fn new(bytes: &'a [u8], tag: u8) -> PyResult<Self> {
        match bytes.split_first() {
            Some((&t, rest)) if t == tag => Ok(Reader { bytes: rest }),
            _ => Err(PyValueError::new_err(format!(
                "partition statistics do not start with '{}': not written by this custseg",
                tag as char
            ))),
        }
    }

    fn take<const N: usize>(&mut self) -> PyResult<[u8; N]> {
        if self.bytes.len() < N {
            return Err(PyValueError::new_err("partition statistics end early: damaged or from another version"));
        }
        let (head, rest) = self.bytes.split_at(N);
        self.bytes = rest;
        Ok(head.try_into().expect("split at N"))
    }

    pub fn u64(&mut self) -> PyResult<u64> {
        Ok(u64::from_le_bytes(self.take()?))
    }

    pub fn usize(&mut self) -> PyResult<usize> {
        usize::try_from(self.u64()?).map_err(|_| PyValueError::new_err("partition statistics hold a size too large"))
    }

    pub fn f64s(&mut self, n: usize) -> PyResult<Vec<f64>> {
        (0..n).map(|_| Ok(f64::from_le_bytes(self.take()?))).collect()
    }

    pub fn f32s(&mut self, n: usize) -> PyResult<Vec<f32>> {
        (0..n).map(|_| Ok(f32::from_le_bytes(self.take()?))).collect()
    }

    pub fn lloyd(&mut self) -> PyResult<LloydStats> {
        let (k, dim) = (self.usize()?, self.usize()?);
        let mut s = LloydStats::zeros(k, dim);
        s.sums = self.f64s(k * dim)?;
        s.weights = self.f64s(k)?;
        s.counts = (0..k).map(|_| self.u64()).collect::<PyResult<_>>()?;
        s.inertia = self.f64s(1)?[0];
        s.changed = self.u64()?;
        Ok(s)
    }

    pub fn mixture(&mut self) -> PyResult<MixtureStats> {
        let (k, dim, full) = (self.usize()?, self.usize()?, self.u64()? != 0);
        let mut s = MixtureStats::zeros(k, dim, full);
        s.resp = self.f64s(k)?;
        s.sum_x = self.f64s(k * dim)?;
        s.sum_xx = self.f64s(s.sum_xx.len())?;
        let tail = self.f64s(2)?;
        (s.log_likelihood, s.weight) = (tail[0], tail[1]);
        Ok(s)
    }

    /// Fails unless every byte was read.
    pub fn finish(self) -> PyResult<()> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(PyValueError::new_err("partition statistics have trailing bytes: damaged or from another version"))
        }
    }
}

/// Merges `parts` in the order given, checking that each has the shape of the first.
pub fn merge_in_order<T>(
    parts: impl IntoIterator<Item = T>,
    shape: impl Fn(&T) -> (usize, usize),
    merge: impl Fn(&mut T, &T),
) -> PyResult<T> {
    let mut iter = parts.into_iter();
    let mut total =
        iter.next().ok_or_else(|| PyValueError::new_err("no partition returned statistics: the data has no rows"))?;
    for part in iter {
        if shape(&part) != shape(&total) {
            return Err(PyValueError::new_err("partition statistics of different shapes cannot be merged"));
        }
        merge(&mut total, &part);
    }
    Ok(total)
}
