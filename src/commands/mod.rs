//! One module per subcommand; each turns parsed arguments into a validated config, runs
//! the library and returns the JSON summary printed on stdout.

pub mod bench;
pub mod demo;
pub mod devices;
pub mod evaluate;
pub mod fit;
pub mod predict;
pub mod select_k;

use std::path::{Path, PathBuf};

use crate::backend::cpu::CpuBackend;
use crate::backend::gpu::context::GpuContext;
use crate::backend::gpu::GpuBackend;
use crate::backend::mixture::MixturePass;
use crate::backend::{Backend, Centres};
use crate::cli::{BackendChoice, RunArgs};
use crate::data::Dataset;
use crate::error::{Error, Result};

/// Sizes rayon's global pool (once per process; later calls keep the first size).
pub fn configure_threads(run: &RunArgs) -> Result<()> {
    if let Some(n) = run.threads {
        if n == 0 {
            return Err(Error::param("threads", "must be at least 1"));
        }
        let _ = rayon::ThreadPoolBuilder::new().num_threads(n).build_global();
    }
    Ok(())
}

/// The backend a command runs on, and whether a GPU failure may fall back to the CPU.
pub struct Engine {
    pub backend: Box<dyn Backend>,
    /// True when `--backend auto` chose a GPU: if it fails, the run goes on on the CPU.
    pub fallback: bool,
}

impl Engine {
    /// Runs `job`; when the GPU fails (device lost, out of memory, validation) and `auto`
    /// chose it, logs why and runs `job` again on the CPU, which then serves the rest of the run.
    pub fn run<T>(&mut self, what: &str, mut job: impl FnMut(&dyn Backend) -> Result<T>) -> Result<T> {
        match job(self.backend.as_ref()) {
            Err(Error::Gpu(message)) if self.fallback => {
                crate::warn!("{what} failed on the GPU ({message}); --backend auto continues on the CPU");
                self.backend = Box::new(CpuBackend::new());
                self.fallback = false;
                job(self.backend.as_ref())
            }
            other => other,
        }
    }
}

/// Nearest-centre labels of every row, per chunk.
pub fn hard_labels(engine: &mut Engine, data: &Dataset, centres: &Centres) -> Result<Vec<Vec<u32>>> {
    let mut labels = Vec::new();
    engine.run("the assignment pass", |b| {
        labels.clear();
        b.assign(data, centres, &mut |_, l, _| {
            labels.push(l.to_vec());
            Ok(())
        })
    })?;
    Ok(labels)
}

/// Most probable component of every row, per chunk.
pub fn mixture_labels(engine: &mut Engine, data: &Dataset, pass: &MixturePass) -> Result<Vec<Vec<u32>>> {
    let mut labels = Vec::new();
    engine.run("the assignment pass", |b| {
        labels.clear();
        b.mixture_assign(data, pass, &mut |_, l, _| {
            labels.push(l.to_vec());
            Ok(())
        })
    })?;
    Ok(labels)
}

/// The backend `run` asks for. `auto` takes a hardware GPU when wgpu finds one (a software
/// adapter such as llvmpipe is slower than the CPU path) and says which it chose and why.
pub fn select_backend(run: &RunArgs) -> Result<Engine> {
    let gpu = |ctx: GpuContext| Box::new(GpuBackend::new(ctx).with_memory_budget(run.gpu_memory));
    match run.backend {
        BackendChoice::Cpu => Ok(Engine { backend: Box::new(CpuBackend::new()), fallback: false }),
        BackendChoice::Gpu => {
            let ctx = GpuContext::open(run.gpu_index, false)?;
            crate::info!("backend gpu: {}", ctx.describe());
            Ok(Engine { backend: gpu(ctx), fallback: false })
        }
        BackendChoice::Auto => match GpuContext::open(run.gpu_index, true) {
            Ok(ctx) => {
                crate::info!("backend auto: using the GPU {}", ctx.describe());
                Ok(Engine { backend: gpu(ctx), fallback: true })
            }
            Err(e) => {
                crate::info!("backend auto: using the CPU ({e})");
                Ok(Engine { backend: Box::new(CpuBackend::new()), fallback: false })
            }
        },
    }
}

/// A saved model's mixture in E-step form (`predict`, `evaluate`): a component that cannot
/// be used means the model file is damaged.
pub fn stored_mixture_pass(model: &Path, mixture: &crate::cluster::gmm::Mixture) -> Result<MixturePass> {
    mixture.to_pass().map_err(|(c, reason)| {
        Error::data(model.display(), format!("component {c} of the model is unusable ({reason}); the model is damaged"))
    })
}

/// Refuses an output file that is an input or would land in an input folder.
pub fn ensure_not_input(output: &Path, inputs: &[PathBuf]) -> Result<()> {
    let out = normalize(output);
    for input in inputs {
        let Ok(inp) = input.canonicalize() else {
            continue;
        };
        if inp == out || (inp.is_dir() && out.parent() == Some(inp.as_path())) {
            return Err(Error::param(
                "out",
                format!(
                    "{} would overwrite or be read back as the input {}; choose an output outside the inputs",
                    output.display(),
                    input.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Absolute form of a path that may not exist yet.
fn normalize(p: &Path) -> PathBuf {
    if let Ok(c) = p.canonicalize() {
        return c;
    }
    let parent = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    match (parent.canonicalize(), p.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => p.to_path_buf(),
    }
}

/// Rounds seconds for the summary.
pub fn secs(s: f64) -> f64 {
    (s * 1000.0).round() / 1000.0
}
