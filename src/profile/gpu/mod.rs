//! profile layer: wgpu adapters and devices, error scopes, polling with a timeout, readback.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub mod adapters;
pub mod buffers;
pub mod decoder;
pub mod decoder_check;
mod decoder_plan;
pub mod decoder_rows;
pub mod decoder_tune;
mod encoder_plan;
pub mod gemm_tune;
pub mod kernels;
mod model;
pub mod op_timer;
pub mod ops;
pub mod texture;
pub mod timer;
pub mod transformer;
pub mod transformer_rows;

use crate::profile::{ProfileError, first_line};
pub use adapters::{adapter_entry, cpu_entry, feature_names};

/// A wgpu instance that sees every backend compiled in.
pub fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = wgpu::Backends::all();
    wgpu::Instance::new(desc)
}

/// Every adapter the instance finds, in wgpu's order.
pub fn adapters(instance: &wgpu::Instance) -> Vec<wgpu::Adapter> {
    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
}

/// Label used for an adapter in results: `"<name> [<backend>]"`, so the same device
/// seen through two backends (e.g. lavapipe on Vulkan and llvmpipe on GL) stays distinct.
pub fn adapter_label(adapter: &wgpu::Adapter) -> String {
    let info = adapter.get_info();
    format!(
        "{} [{}]",
        info.name,
        format!("{:?}", info.backend).to_ascii_lowercase()
    )
}

/// A device opened for profiling, with what it can do.
pub struct GpuContext {
    /// Adapter the device was opened on.
    pub adapter: wgpu::Adapter,
    /// The logical device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// Adapter label, `"<name> [<backend>]"` (see [`adapter_label`]).
    pub name: String,
    /// Driver name and version, for cache keys.
    pub driver: String,
    /// `SHADER_F16` was enabled.
    pub has_f16: bool,
    /// `TIMESTAMP_QUERY` was enabled.
    pub has_timestamps: bool,
    /// Milliseconds spent in `request_device`.
    pub device_create_ms: f64,
    /// Set by the device-lost callback with the driver's message.
    pub lost: Arc<Mutex<Option<String>>>,
    /// First error no error scope captured (wgpu would otherwise panic on it).
    pub uncaptured: Arc<Mutex<Option<String>>>,
}

impl GpuContext {
    /// Wraps a device someone else opened (e.g. a test or the app's own), so all GPU work
    /// here can run on an injected `Device` and `Queue`; capabilities come from the
    /// features the device was created with. Installs a device-lost callback and an
    /// uncaptured-error handler that record into `lost` / `uncaptured` (never panic).
    pub fn from_device(adapter: wgpu::Adapter, device: wgpu::Device, queue: wgpu::Queue) -> Self {
        let f = device.features();
        let lost = Arc::new(Mutex::new(None));
        let flag = lost.clone();
        device.set_device_lost_callback(move |reason, msg| {
            if !matches!(reason, wgpu::DeviceLostReason::Destroyed)
                && let Ok(mut g) = flag.lock()
            {
                *g = Some(first_line(&msg));
            }
        });
        let uncaptured = Arc::new(Mutex::new(None));
        let sink = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut g) = sink.lock() {
                g.get_or_insert_with(|| first_line(&e.to_string()));
            }
        }));
        let info = adapter.get_info();
        GpuContext {
            name: adapter_label(&adapter),
            driver: format!("{} {}", info.driver, info.driver_info),
            has_f16: f.contains(wgpu::Features::SHADER_F16),
            has_timestamps: f.contains(wgpu::Features::TIMESTAMP_QUERY),
            adapter,
            device,
            queue,
            device_create_ms: 0.0,
            lost,
            uncaptured,
        }
    }

    /// [`ProfileError::DeviceLost`] once the device-lost callback has fired.
    /// Also returns the first uncaptured wgpu error as [`ProfileError::Gpu`].
    pub fn check_lost(&self) -> Result<(), ProfileError> {
        if let Some(msg) = self.lost.lock().ok().and_then(|g| g.clone()) {
            return Err(ProfileError::DeviceLost(msg));
        }
        match self.uncaptured.lock().ok().and_then(|mut g| g.take()) {
            Some(reason) => Err(ProfileError::Gpu {
                context: "running on the device".into(),
                reason,
            }),
            None => Ok(()),
        }
    }
}

/// Opens a device on `adapter` with SHADER_F16 and TIMESTAMP_QUERY when offered and the
/// adapter's own limits (see [`GpuContext::from_device`] for the callbacks installed).
pub fn open(adapter: wgpu::Adapter) -> Result<GpuContext, ProfileError> {
    let info = adapter.get_info();
    let wanted = wgpu::Features::SHADER_F16 | wgpu::Features::TIMESTAMP_QUERY;
    let features = adapter.features() & wanted;
    let desc = wgpu::DeviceDescriptor {
        label: Some("costscope-profile"),
        required_features: features,
        required_limits: adapter.limits(),
        ..Default::default()
    };
    let t0 = Instant::now();
    let (device, queue) = pollster::block_on(adapter.request_device(&desc)).map_err(|e| {
        ProfileError::DeviceRequest {
            adapter: info.name.clone(),
            reason: first_line(&e.to_string()),
        }
    })?;
    let device_create_ms = ms(t0.elapsed());
    Ok(GpuContext {
        device_create_ms,
        ..GpuContext::from_device(adapter, device, queue)
    })
}

/// Picks adapters whose label (`"<name> [<backend>]"`) contains `needle`
/// (case-insensitive); all when `None`.
pub fn select(
    adapters: Vec<wgpu::Adapter>,
    needle: Option<&str>,
) -> Result<Vec<wgpu::Adapter>, ProfileError> {
    let found: Vec<String> = adapters.iter().map(adapter_label).collect();
    let picked: Vec<wgpu::Adapter> = match needle {
        None => adapters,
        Some(n) => {
            let n = n.to_ascii_lowercase();
            adapters
                .into_iter()
                .filter(|a| adapter_label(a).to_ascii_lowercase().contains(&n))
                .collect()
        }
    };
    if picked.is_empty() {
        let detail = match (needle, found.is_empty()) {
            (_, true) => {
                " (wgpu enumerated none; is a Vulkan/Metal/DX12/GL driver installed?)".to_string()
            }
            (Some(n), false) => format!(" matching `{n}` (found: {})", found.join(", ")),
            (None, false) => String::new(),
        };
        return Err(ProfileError::NoAdapter(detail));
    }
    Ok(picked)
}

/// Runs `f` inside validation and out-of-memory error scopes and turns any captured error
/// into a typed [`ProfileError`]; `context` says what was being done.
pub fn scoped<T>(
    device: &wgpu::Device,
    context: &str,
    f: impl FnOnce() -> T,
) -> Result<T, ProfileError> {
    let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    let val = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let out = f();
    let val_err = pollster::block_on(val.pop());
    let oom_err = pollster::block_on(oom.pop());
    match oom_err.or(val_err) {
        None => Ok(out),
        Some(e) => Err(map_error(context, e)),
    }
}

/// Maps a wgpu error to a [`ProfileError`].
pub fn map_error(context: &str, e: wgpu::Error) -> ProfileError {
    match e {
        wgpu::Error::OutOfMemory { .. } => ProfileError::OutOfMemory(context.to_string()),
        wgpu::Error::Validation { description, .. } => {
            if context.starts_with("compiling") {
                ProfileError::ShaderCompile {
                    shader: context.trim_start_matches("compiling ").to_string(),
                    reason: shader_reason(&description),
                }
            } else {
                ProfileError::Gpu {
                    context: context.to_string(),
                    reason: first_line(&description),
                }
            }
        }
        wgpu::Error::Internal { description, .. } => ProfileError::Gpu {
            context: context.to_string(),
            reason: first_line(&description),
        },
    }
}

/// The most telling line of a naga/wgpu shader error (the first `error:` line if any).
fn shader_reason(description: &str) -> String {
    description
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("error"))
        .map(str::to_string)
        .unwrap_or_else(|| first_line(description))
}

/// One adapter per device name: a device seen through several backends (lavapipe on
/// Vulkan and llvmpipe on GL) is kept once, preferring any backend over GL.
pub fn dedupe(adapters: Vec<wgpu::Adapter>) -> Vec<wgpu::Adapter> {
    let is_gl = |a: &wgpu::Adapter| a.get_info().backend == wgpu::Backend::Gl;
    let mut kept: Vec<wgpu::Adapter> = Vec::new();
    let mut sorted = adapters;
    sorted.sort_by_key(is_gl);
    for a in sorted {
        if !kept.iter().any(|k| k.get_info().name == a.get_info().name) {
            kept.push(a);
        }
    }
    kept
}

/// Waits for `submission` with a timeout; a timeout is [`ProfileError::Hung`].
pub fn wait(
    device: &wgpu::Device,
    submission: wgpu::SubmissionIndex,
    timeout: Duration,
    what: &str,
) -> Result<(), ProfileError> {
    poll_wait(device, Some(submission), timeout, what)
}

/// Waits for all submitted work with a timeout (used to complete buffer maps).
pub fn wait_all(device: &wgpu::Device, timeout: Duration, what: &str) -> Result<(), ProfileError> {
    poll_wait(device, None, timeout, what)
}

/// Polls until `submission` (or everything, with `None`) completes or `timeout` runs out.
fn poll_wait(
    device: &wgpu::Device,
    submission_index: Option<wgpu::SubmissionIndex>,
    timeout: Duration,
    what: &str,
) -> Result<(), ProfileError> {
    device
        .poll(wgpu::PollType::Wait {
            submission_index,
            timeout: Some(timeout),
        })
        .map(|_| ())
        .map_err(|e| match e {
            wgpu::PollError::Timeout => ProfileError::Hung {
                what: what.to_string(),
                timeout_s: timeout.as_secs_f64(),
            },
            other => ProfileError::Gpu {
                context: what.to_string(),
                reason: other.to_string(),
            },
        })
}

/// Copies `size` bytes of `src` into a fresh mappable buffer and returns them.
pub fn read_buffer(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    src: &wgpu::Buffer,
    size: u64,
    timeout: Duration,
) -> Result<Vec<u8>, ProfileError> {
    let staging = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut enc = device.create_command_encoder(&Default::default());
    enc.copy_buffer_to_buffer(src, 0, &staging, 0, size);
    let sub = queue.submit([enc.finish()]);
    let (tx, rx) = std::sync::mpsc::channel();
    staging.map_async(wgpu::MapMode::Read, .., move |r| {
        let _ = tx.send(r);
    });
    wait(device, sub, timeout, "reading back a buffer")?;
    match rx.recv_timeout(timeout) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            return Err(ProfileError::Gpu {
                context: "mapping a readback buffer".into(),
                reason: e.to_string(),
            });
        }
        Err(_) => {
            return Err(ProfileError::DeviceLost(
                "buffer map never completed".into(),
            ));
        }
    }
    let bytes = staging
        .get_mapped_range(..)
        .map_err(|e| ProfileError::Gpu {
            context: "reading a mapped buffer".into(),
            reason: e.to_string(),
        })?
        .to_vec();
    staging.unmap();
    Ok(bytes)
}

/// Duration in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Opens the first adapter whose name contains `needle` (any adapter when `None`).
pub fn open_first(needle: Option<&str>) -> Result<GpuContext, ProfileError> {
    let inst = instance();
    let mut picked = select(adapters(&inst), needle)?;
    open(picked.remove(0))
}
