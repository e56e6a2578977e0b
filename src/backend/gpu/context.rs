//! One wgpu instance, adapter, device, queue and the compiled pipelines (one per entry of
//! the kernel registry), built once per run and reused by every pass.

use std::borrow::Cow;

use super::shaders::{self, Kernel, KERNELS};
use crate::error::{Error, GpuError, Param, Result};

/// The native compute backends we use (never GL, which also finds a software adapter).
pub const BACKENDS: wgpu::Backends = wgpu::Backends::VULKAN.union(wgpu::Backends::METAL).union(wgpu::Backends::DX12);

/// An adapter as `custseg devices` lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeviceInfo {
    pub index: usize,
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    /// Whether `--backend auto` would use it (software adapters are slower than our CPU path).
    pub hardware: bool,
    pub max_storage_buffer_binding_size: u64,
    pub max_buffer_size: u64,
    pub max_compute_workgroup_storage_size: u32,
    pub max_compute_invocations_per_workgroup: u32,
}

/// Mesa's Vulkan drivers print "error: XDG_RUNTIME_DIR is invalid or not set" on every
/// instance when the variable is missing (as under cron or CI), an alarming line in a
/// batch log for a run that is fine: point it at a private folder first.
fn quiet_mesa() {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let valid = std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| std::path::Path::new(&d).is_dir());
        if !valid {
            let user = std::env::var("USER").unwrap_or_else(|_| "user".into());
            let dir = std::env::temp_dir().join(format!("custseg-runtime-{user}"));
            if std::fs::create_dir_all(&dir).is_ok()
                && std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).is_ok()
            {
                // SAFETY (edition 2021: safe call): set once, before wgpu starts any thread.
                std::env::set_var("XDG_RUNTIME_DIR", &dir);
            }
        }
    }
}

fn instance() -> wgpu::Instance {
    quiet_mesa();
    wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: BACKENDS,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    })
}

/// All adapters of the native backends, in wgpu's order.
pub fn adapters() -> Vec<wgpu::Adapter> {
    pollster::block_on(instance().enumerate_adapters(BACKENDS))
}

/// Whether an adapter is real hardware (not a CPU rasteriser such as llvmpipe).
pub fn is_hardware(info: &wgpu::AdapterInfo) -> bool {
    !matches!(info.device_type, wgpu::DeviceType::Cpu | wgpu::DeviceType::Other)
}

/// What `custseg devices` prints.
pub fn list_devices() -> Vec<DeviceInfo> {
    adapters()
        .iter()
        .enumerate()
        .map(|(index, a)| {
            let info = a.get_info();
            let limits = a.limits();
            DeviceInfo {
                index,
                name: info.name.clone(),
                backend: format!("{:?}", info.backend),
                device_type: format!("{:?}", info.device_type),
                driver: format!("{} {}", info.driver, info.driver_info).trim().to_string(),
                hardware: is_hardware(&info),
                max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
                max_buffer_size: limits.max_buffer_size,
                max_compute_workgroup_storage_size: limits.max_compute_workgroup_storage_size,
                max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
            }
        })
        .collect()
}

/// Device, queue and pipelines.
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    /// One pipeline per entry of [`KERNELS`], in its order (see [`GpuContext::pipeline`]).
    pipelines: Vec<wgpu::ComputePipeline>,
}

/// The message for "no usable GPU", with how to get one.
pub const NO_ADAPTER_HELP: &str = "no Vulkan, Metal or DX12 adapter found; install a GPU driver \
     (on Linux, Mesa's software Vulkan for testing: apt-get install mesa-vulkan-drivers) or use --backend cpu";

impl GpuContext {
    /// Opens adapter `index` (see `custseg devices`), or with `None` the first one, or the
    /// first hardware one when `hardware_only`.
    pub fn open(index: Option<usize>, hardware_only: bool) -> Result<Self> {
        let mut all = adapters();
        if all.is_empty() {
            return Err(Error::BackendUnavailable(NO_ADAPTER_HELP.into()));
        }
        let chosen = match index {
            Some(i) if i < all.len() => i,
            Some(i) => {
                return Err(Error::param(
                    Param::GpuIndex,
                    format!("{i} is out of range: {} adapter(s); see `custseg devices`", all.len()),
                ))
            }
            None => match all.iter().position(|a| !hardware_only || is_hardware(&a.get_info())) {
                Some(i) => i,
                None => {
                    return Err(Error::BackendUnavailable(format!(
                        "only software adapters found (slower than {} cpu)",
                        Param::Backend
                    )))
                }
            },
        };
        Self::from_adapter(all.swap_remove(chosen))
    }

    /// Builds the device (with the adapter's own limits, not wgpu's small defaults) and pipelines.
    pub fn from_adapter(adapter: wgpu::Adapter) -> Result<Self> {
        let info = adapter.get_info();
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("custseg"),
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| Error::BackendUnavailable(format!("{}: cannot open the device: {e}", info.name)))?;
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let make = |name: &str| {
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(name),
                source: wgpu::ShaderSource::Wgsl(Cow::Owned(shaders::source(name))),
            });
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(name),
                layout: None,
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        let pipelines = KERNELS.iter().map(|(name, _)| make(name)).collect();
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu(GpuError::Validation {
                what: "compiling the kernels".into(),
                device: info.name.clone(),
                message: e.to_string(),
            }));
        }
        Ok(GpuContext { device, queue, info, limits, pipelines })
    }

    /// The compiled pipeline of `kernel`.
    pub fn pipeline(&self, kernel: Kernel) -> &wgpu::ComputePipeline {
        &self.pipelines[kernel as usize]
    }

    /// "name (backend, type)" for logs and the summary.
    pub fn describe(&self) -> String {
        format!("{} ({:?}, {:?})", self.info.name, self.info.backend, self.info.device_type)
    }
}
