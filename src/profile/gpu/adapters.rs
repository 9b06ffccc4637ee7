//! profile layer: describing adapters (and the native CPU) for reports and `--list`.

use crate::profile::report::AdapterEntry;

/// Report entry describing an adapter.
pub fn adapter_entry(adapter: &wgpu::Adapter) -> AdapterEntry {
    let info = adapter.get_info();
    let l = adapter.limits();
    AdapterEntry {
        name: info.name.clone(),
        backend: format!("{:?}", info.backend).to_ascii_lowercase(),
        device_type: device_type_name(info.device_type).to_string(),
        driver: info.driver.clone(),
        driver_info: info.driver_info.clone(),
        features: feature_names(adapter.features()),
        limits: vec![
            ("max_buffer_size".into(), l.max_buffer_size),
            (
                "max_storage_buffer_binding_size".into(),
                l.max_storage_buffer_binding_size,
            ),
            (
                "max_compute_workgroup_storage_size".into(),
                u64::from(l.max_compute_workgroup_storage_size),
            ),
            (
                "max_compute_invocations_per_workgroup".into(),
                u64::from(l.max_compute_invocations_per_workgroup),
            ),
            (
                "max_compute_workgroups_per_dimension".into(),
                u64::from(l.max_compute_workgroups_per_dimension),
            ),
        ],
    }
}

/// The report entry for the native CPU path.
pub fn cpu_entry() -> AdapterEntry {
    let fp = crate::profile::report::fingerprint();
    let mut features = Vec::new();
    #[cfg(target_arch = "x86_64")]
    for (name, on) in [
        ("AVX2", std::is_x86_feature_detected!("avx2")),
        ("FMA", std::is_x86_feature_detected!("fma")),
        ("AVX512F", std::is_x86_feature_detected!("avx512f")),
        ("F16C", std::is_x86_feature_detected!("f16c")),
    ] {
        if on {
            features.push(name.to_string());
        }
    }
    AdapterEntry {
        name: "cpu".into(),
        backend: "native".into(),
        device_type: "cpu".into(),
        driver: "gemm crate".into(),
        driver_info: fp.cpu,
        features,
        limits: vec![("threads".into(), fp.cpu_cores as u64)],
    }
}

fn device_type_name(t: wgpu::DeviceType) -> &'static str {
    match t {
        wgpu::DeviceType::Cpu => "cpu",
        wgpu::DeviceType::DiscreteGpu => "discrete_gpu",
        wgpu::DeviceType::IntegratedGpu => "integrated_gpu",
        wgpu::DeviceType::VirtualGpu => "virtual_gpu",
        wgpu::DeviceType::Other => "other",
    }
}

/// Names of all features in `f`, as wgpu spells them.
pub fn feature_names(f: wgpu::Features) -> Vec<String> {
    f.iter_names().map(|(n, _)| n.to_string()).collect()
}
