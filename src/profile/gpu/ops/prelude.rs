//! profile layer: the per-precision WGSL prelude of the transformer ops — one storage
//! binding per slot with `load_<name>` / `store_<name>` / `store2_<name>` accessors, so
//! an op's body is written once and runs in f32, f16 (SHADER_F16) and packed bf16.

use crate::profile::Precision;

/// How an op uses one of its buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Activations or weights at the op's storage precision, read only.
    Read,
    /// Activations at the op's storage precision, read and written.
    ReadWrite,
    /// Raw `u32` words (token ids), read only; no accessors.
    U32,
    /// Raw `f32` values (a precomputed table), read only; no accessors.
    F32,
}

/// One buffer of an op: its WGSL name (`<name>_buf`) and access.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    /// Name used in the generated WGSL (`x` gives `x_buf`, `load_x`, `store_x`).
    pub name: &'static str,
    /// How the op uses it.
    pub access: Access,
}

impl Slot {
    /// A read-only slot at storage precision.
    pub const fn read(name: &'static str) -> Self {
        Slot {
            name,
            access: Access::Read,
        }
    }

    /// A read-write slot at storage precision.
    pub const fn read_write(name: &'static str) -> Self {
        Slot {
            name,
            access: Access::ReadWrite,
        }
    }

    /// True when the op writes this buffer.
    pub fn is_writable(&self) -> bool {
        self.access == Access::ReadWrite
    }
}

/// Rounding to bf16 (nearest even) and unpacking element `i` of a packed word.
const BF16_HELPERS: &str = "\
fn bf16_at(w: u32, i: u32) -> f32 {
    return bitcast<f32>(select(w << 16u, w & 0xffff0000u, (i & 1u) == 1u));
}
fn to_bf16(v: f32) -> u32 {
    let u = bitcast<u32>(v);
    return (u + 0x7fffu + ((u >> 16u) & 1u)) >> 16u;
}
";

/// WGSL declarations and accessors for `slots` at `precision`; binding `i` is slot `i`.
pub fn prelude(precision: Precision, slots: &[Slot]) -> String {
    let mut s = format!(
        "// profile layer: generated {} prelude of a transformer op.\n",
        precision.name()
    );
    match precision {
        Precision::F16 => s += "enable f16;\n",
        Precision::Bf16 => s += BF16_HELPERS,
        Precision::F32 => {}
    }
    for (i, slot) in slots.iter().enumerate() {
        s += &declare(precision, i, slot);
    }
    s
}

fn declare(precision: Precision, binding: usize, slot: &Slot) -> String {
    let n = slot.name;
    let mode = if slot.is_writable() {
        "read_write"
    } else {
        "read"
    };
    let elem = match (slot.access, precision) {
        (Access::U32, _) => "u32",
        (Access::F32, _) => "f32",
        (_, Precision::F32) => "f32",
        (_, Precision::F16) => "f16",
        (_, Precision::Bf16) => "u32",
    };
    let mut s =
        format!("@group(0) @binding({binding}) var<storage, {mode}> {n}_buf: array<{elem}>;\n");
    if matches!(slot.access, Access::U32 | Access::F32) {
        return s;
    }
    s += &match precision {
        Precision::F32 => format!("fn load_{n}(i: u32) -> f32 {{ return {n}_buf[i]; }}\n"),
        Precision::F16 => format!("fn load_{n}(i: u32) -> f32 {{ return f32({n}_buf[i]); }}\n"),
        Precision::Bf16 => {
            format!("fn load_{n}(i: u32) -> f32 {{ return bf16_at({n}_buf[i >> 1u], i); }}\n")
        }
    };
    if slot.is_writable() {
        s += &stores(precision, n);
    }
    s
}

/// `store_<n>(i, v)` writes one element (bf16: read-modify-write of its word, so the
/// caller must own the whole word); `store2_<n>(i, v0, v1, two)` writes elements `i`
/// (even) and `i + 1` when `two` (bf16: one whole-word store, the pad half zeroed).
fn stores(precision: Precision, n: &str) -> String {
    match precision {
        Precision::F32 => format!(
            "fn store_{n}(i: u32, v: f32) {{ {n}_buf[i] = v; }}
fn store2_{n}(i: u32, v0: f32, v1: f32, two: bool) {{
    {n}_buf[i] = v0;
    if (two) {{ {n}_buf[i + 1u] = v1; }}
}}
"
        ),
        Precision::F16 => format!(
            "fn store_{n}(i: u32, v: f32) {{ {n}_buf[i] = f16(v); }}
fn store2_{n}(i: u32, v0: f32, v1: f32, two: bool) {{
    {n}_buf[i] = f16(v0);
    if (two) {{ {n}_buf[i + 1u] = f16(v1); }}
}}
"
        ),
        Precision::Bf16 => format!(
            "fn store_{n}(i: u32, v: f32) {{
    let w = {n}_buf[i >> 1u];
    let b = to_bf16(v);
    {n}_buf[i >> 1u] = select((w & 0xffff0000u) | b, (w & 0xffffu) | (b << 16u), (i & 1u) == 1u);
}}
fn store2_{n}(i: u32, v0: f32, v1: f32, two: bool) {{
    var hi = 0u;
    if (two) {{ hi = to_bf16(v1); }}
    {n}_buf[i >> 1u] = to_bf16(v0) | (hi << 16u);
}}
"
        ),
    }
}
