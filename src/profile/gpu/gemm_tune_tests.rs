//! profile layer tests: projection tuning keys and the on-disk seed, without a GPU.

use super::*;

fn key(precision: Precision, bias: bool) -> ProjectionKey {
    ProjectionKey {
        adapter: "llvmpipe [Vulkan]".into(),
        driver: "llvmpipe 25.0".into(),
        precision,
        shape: (128, 768, 3072),
        bias,
    }
}

#[test]
fn disk_keys_name_every_field_and_stay_apart_from_standalone_gemm_keys() {
    let k = key(Precision::Bf16, true);
    assert_eq!(
        k.disk_key(),
        "projection|llvmpipe [Vulkan]|llvmpipe 25.0|bf16|128x768x3072|bias"
    );
    assert_ne!(k.disk_key(), key(Precision::Bf16, false).disk_key());
    assert_ne!(k.disk_key(), key(Precision::F16, true).disk_key());
}

#[test]
fn seeding_takes_only_projection_winners_and_an_empty_tuner_has_nothing() {
    let entry = CacheEntry {
        variant: "reg8x8".into(),
        shader_hash: "0".into(),
        median_ms: 1.0,
        date: "2026-12-02T00:00:00Z".into(),
    };
    let mut cache = TuneCache::default();
    cache
        .entries
        .insert("llvmpipe|d|f32|256x256x256".into(), entry.clone());
    let k = key(Precision::F32, true);
    cache.entries.insert(k.disk_key(), entry);
    let tuner = ProjectionTuner::new();
    tuner.seed(&cache);
    assert_eq!(tuner.lock().disk.len(), 1);
    assert!(tuner.lock().disk.contains_key(&k.disk_key()));
    assert_eq!((tuner.get(&k), tuner.tunings()), (None, 0));
    // Nothing tuned, nothing persisted.
    let mut out = TuneCache::default();
    tuner.persist(&mut out);
    assert!(out.entries.is_empty());
}
