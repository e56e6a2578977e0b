//! What can go wrong on a GPU, by what the caller can do about it.

/// A GPU failure. All but [`GpuError::TooManyFeatures`] are faults of the device or its
/// driver: `--backend auto` answers them by running the step on the CPU.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GpuError {
    /// wgpu rejected a command (a bug in a kernel or a limit of the adapter).
    #[error("{what} on {device}: validation failed: {message}")]
    Validation { what: String, device: String, message: String },
    /// The device ran out of memory.
    #[error("{what} on {device}: out of device memory ({message})")]
    OutOfMemory { what: String, device: String, message: String },
    /// A pass finished without a usable result (device lost, incomplete or invalid output).
    #[error("{what} on {device} returned no result: {detail}")]
    NoResult { what: String, device: String, detail: String },
    /// More features than the kernels handle.
    #[error("the GPU backend handles up to {max} features, not {dim}; use the CPU backend")]
    TooManyFeatures { dim: usize, max: usize },
}

impl GpuError {
    /// Whether running the step on the CPU instead may succeed.
    pub fn is_device_fault(&self) -> bool {
        !matches!(self, GpuError::TooManyFeatures { .. })
    }
}
