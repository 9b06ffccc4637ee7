//! profile layer tests: shared helpers (device for GPU tests, CI policy).

use costscope::profile::gpu::{GpuContext, open_first};

/// A device for GPU tests. With `CI` set, no adapter is a test failure; without it the
/// test prints why and returns `None` so the caller can stop early.
pub fn device() -> Option<GpuContext> {
    let needle = std::env::var("COSTSCOPE_TEST_ADAPTER").ok();
    match open_first(needle.as_deref()) {
        Ok(ctx) => Some(ctx),
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("CI is set and no usable GPU adapter was found: {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED (not CI): no usable GPU adapter: {e}");
            None
        }
    }
}
