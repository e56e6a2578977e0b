//! The backend a run computes on: chosen once, and under `auto` replaced by the CPU when
//! the GPU fails mid-run.

use crate::backend::cpu::CpuBackend;
use crate::backend::gpu::context::GpuContext;
use crate::backend::gpu::GpuBackend;
use crate::backend::Backend;
use crate::error::{Error, Param, Result};

/// Which compute backend to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendChoice {
    /// A hardware GPU when wgpu finds one (not a software rasteriser), else the CPU.
    Auto,
    Cpu,
    Gpu,
}

/// Where a run computes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendOptions {
    pub choice: BackendChoice,
    /// GPU adapter index (as `custseg devices` lists them).
    pub gpu_index: Option<usize>,
    /// Device bytes the rows may occupy before they are streamed.
    pub gpu_memory: Option<u64>,
}

impl BackendOptions {
    /// Refuses the GPU options with the CPU backend, which would ignore them.
    pub fn check(&self) -> Result<()> {
        if self.choice == BackendChoice::Cpu {
            for (param, given) in
                [(Param::GpuIndex, self.gpu_index.is_some()), (Param::GpuMemory, self.gpu_memory.is_some())]
            {
                if given {
                    return Err(Error::param(
                        param,
                        "is for the GPU; the CPU backend would ignore it (drop it or choose --backend gpu or auto)",
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Default for BackendOptions {
    fn default() -> Self {
        BackendOptions { choice: BackendChoice::Auto, gpu_index: None, gpu_memory: None }
    }
}

/// Most worker threads per core: more only add start-up time and memory.
pub const MAX_THREADS_PER_CORE: usize = 4;

/// Sizes rayon's global pool (once per process; later calls keep the first size). More
/// than [`MAX_THREADS_PER_CORE`] threads per core are capped there, with a warning.
pub fn configure_threads(threads: Option<usize>) -> Result<()> {
    if let Some(n) = threads {
        if n == 0 {
            return Err(Error::param(Param::Threads, "must be at least 1"));
        }
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
        let cap = MAX_THREADS_PER_CORE * cores;
        let n = if n > cap {
            crate::warn!(
                "{} {n} is more than {MAX_THREADS_PER_CORE} per core on {cores} core(s); using {cap}",
                Param::Threads
            );
            cap
        } else {
            n
        };
        let _ = rayon::ThreadPoolBuilder::new().num_threads(n).build_global();
    }
    Ok(())
}

/// The backend a run computes on, and whether a GPU failure may fall back to the CPU.
pub struct Engine {
    pub backend: Box<dyn Backend>,
    /// True when `auto` chose a GPU: if it fails, the run goes on on the CPU.
    pub fallback: bool,
}

impl Engine {
    /// The CPU backend.
    pub fn cpu() -> Self {
        Engine { backend: Box::new(CpuBackend::new()), fallback: false }
    }

    /// Opens the backend `options` ask for. `auto` takes a hardware GPU when wgpu finds one
    /// (a software adapter such as llvmpipe is slower than the CPU path) and says which it
    /// chose and why.
    pub fn open(options: &BackendOptions) -> Result<Self> {
        options.check()?;
        let gpu = |ctx: GpuContext| Box::new(GpuBackend::new(ctx).with_memory_budget(options.gpu_memory));
        match options.choice {
            BackendChoice::Cpu => Ok(Engine::cpu()),
            BackendChoice::Gpu => {
                let ctx = GpuContext::open(options.gpu_index, false)?;
                crate::info!("backend gpu: {}", ctx.describe());
                Ok(Engine { backend: gpu(ctx), fallback: false })
            }
            BackendChoice::Auto => match GpuContext::open(options.gpu_index, true) {
                Ok(ctx) => {
                    crate::info!("backend auto: using the GPU {}", ctx.describe());
                    Ok(Engine { backend: gpu(ctx), fallback: true })
                }
                Err(e) => {
                    crate::info!("backend auto: using the CPU ({e})");
                    Ok(Engine::cpu())
                }
            },
        }
    }

    /// Runs `job`; when the GPU fails (device lost, out of memory, validation) and `auto`
    /// chose it, logs why and runs `job` again on the CPU, which then serves the rest of the run.
    pub fn run<T>(&mut self, what: &str, mut job: impl FnMut(&dyn Backend) -> Result<T>) -> Result<T> {
        match job(self.backend.as_ref()) {
            Err(e) if self.fallback && e.is_gpu_fault() => {
                crate::warn!("{what} failed on the GPU ({e}); {} auto continues on the CPU", Param::Backend);
                *self = Engine::cpu();
                job(self.backend.as_ref())
            }
            other => other,
        }
    }
}
