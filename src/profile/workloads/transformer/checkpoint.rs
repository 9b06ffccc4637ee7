//! profile layer: a model's weights from a Hugging Face safetensors checkpoint — the
//! header read and checked first (names, shapes, dtypes, the file's length, the host
//! memory the load needs) before any tensor is read, then each tensor converted to f32,
//! put into the input-first layout of [`Weights`] and rounded to the storage precision.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use safetensors::Dtype;
use safetensors::tensor::{Metadata, TensorInfo};

use super::TransformerConfig;
use super::accounting::total_params;
use super::hf_names::{self, ANY, LayerSlot, Piece, Place, Slot};
use super::weights::{LayerWeights, NormWeights, Weights};
use crate::profile::{Precision, ProfileError, limits};

/// The format's limit on its JSON header (the `safetensors` crate refuses larger ones).
const MAX_HEADER_BYTES: u64 = 100_000_000;
/// Bytes of the little-endian header length that opens the file.
const LEN_BYTES: u64 = 8;
/// Bytes of one f32.
const F32_BYTES: u64 = 4;

/// A checkpoint error naming the file.
fn err(path: &Path, reason: impl Into<String>) -> ProfileError {
    ProfileError::Checkpoint {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// A stored tensor found for a piece: its name in the file and where its bytes are.
type Found = Option<(String, TensorInfo)>;

/// An open checkpoint whose header was read and checked against the file's length.
struct Checkpoint {
    path: PathBuf,
    file: File,
    data_start: u64,
    meta: Metadata,
}

impl Checkpoint {
    /// Reads and checks the header; no tensor data is read.
    fn open(path: &Path) -> Result<Self, ProfileError> {
        let mut file = File::open(path).map_err(|e| ProfileError::io(path, e))?;
        let file_len = file
            .metadata()
            .map_err(|e| ProfileError::io(path, e))?
            .len();
        let mut len = [0u8; LEN_BYTES as usize];
        file.read_exact(&mut len).map_err(|_| {
            err(path, format!("not a safetensors file: {file_len} bytes, shorter than the 8-byte header length"))
        })?;
        let n = u64::from_le_bytes(len);
        if n > MAX_HEADER_BYTES {
            return Err(err(
                path,
                format!(
                    "not a safetensors file: a header of {n} bytes is over the format's limit of {MAX_HEADER_BYTES}"
                ),
            ));
        }
        let data_start = LEN_BYTES + n;
        if data_start > file_len {
            return Err(err(
                path,
                format!("truncated: its header is {n} bytes long, the whole file {file_len}"),
            ));
        }
        // n ≤ 100 MB, checked above, and no longer than the file.
        let mut header = vec![0u8; n as usize];
        file.read_exact(&mut header)
            .map_err(|e| ProfileError::io(path, e))?;
        let meta: Metadata = serde_json::from_slice(&header).map_err(|e| {
            err(
                path,
                format!("not a safetensors file: its header is not valid: {e}"),
            )
        })?;
        let (want, held) = (meta.data_len() as u64, file_len - data_start);
        if want > held {
            return Err(err(
                path,
                format!(
                    "truncated: its header describes {want} bytes of tensors, the file holds {held}"
                ),
            ));
        }
        if want < held {
            return Err(err(
                path,
                format!(
                    "not a safetensors file: {} bytes follow the last tensor",
                    held - want
                ),
            ));
        }
        Ok(Checkpoint {
            path: path.to_owned(),
            file,
            data_start,
            meta,
        })
    }

    /// The tensor `piece` reads, checked: present (unless optional), shape, dtype.
    fn resolve(&self, piece: &Piece) -> Result<Found, ProfileError> {
        let expected = shape_text(&piece.shape);
        let found = piece
            .names
            .iter()
            .find_map(|n| self.meta.info(n).map(|i| (n, i)));
        let Some((name, info)) = found else {
            if piece.optional {
                return Ok(None);
            }
            let name = piece.names.first().map_or("", String::as_str);
            return Err(err(
                &self.path,
                format!("tensor `{name}` is missing (expected shape {expected})"),
            ));
        };
        let fits = info.shape.len() == piece.shape.len()
            && info
                .shape
                .iter()
                .zip(&piece.shape)
                .all(|(&got, &want)| got == want || (want == ANY && got > 0));
        if !fits {
            return Err(err(
                &self.path,
                format!(
                    "tensor `{name}` has shape {}, expected {expected}",
                    shape_text(&info.shape)
                ),
            ));
        }
        if !matches!(info.dtype, Dtype::F32 | Dtype::F16 | Dtype::BF16) {
            return Err(err(
                &self.path,
                format!(
                    "tensor `{name}` is stored as {}; only F32, F16 and BF16 are read",
                    info.dtype
                ),
            ));
        }
        Ok(Some((name.clone(), info.clone())))
    }

    /// Every piece of `cfg` resolved, and the host memory the load needs checked
    /// against `available_bytes` (unchecked when `None`).
    fn plan(
        &self,
        cfg: &TransformerConfig,
        available_bytes: Option<u64>,
    ) -> Result<Vec<(Piece, Found)>, ProfileError> {
        let has = |name: &str| self.meta.info(name).is_some();
        let plan = hf_names::pieces(cfg, &has)
            .into_iter()
            .map(|p| self.resolve(&p).map(|f| (p, f)))
            .collect::<Result<Vec<_>, _>>()?;
        // The f32 weights, and one tensor read (raw bytes and their f32 values) at a time.
        let largest = plan
            .iter()
            .filter_map(|(_, f)| f.as_ref())
            .map(|(_, i)| {
                let bytes = (i.data_offsets.1 - i.data_offsets.0) as u64;
                let elements: u64 = i.shape.iter().map(|&s| s as u64).product();
                bytes.saturating_add(elements.saturating_mul(F32_BYTES))
            })
            .max()
            .unwrap_or(0);
        let need = total_params(cfg)
            .saturating_mul(F32_BYTES)
            .saturating_add(largest);
        if let Some(available) = available_bytes {
            limits::check_host_bytes(&format!("loading {}", self.path.display()), need, available)?;
        }
        Ok(plan)
    }

    /// The values of one resolved tensor as f32.
    fn read(&mut self, name: &str, info: &TensorInfo) -> Result<Vec<f32>, ProfileError> {
        let (start, end) = info.data_offsets;
        let mut raw = vec![0u8; end - start];
        self.file
            .seek(SeekFrom::Start(self.data_start + start as u64))
            .and_then(|_| self.file.read_exact(&mut raw))
            .map_err(|e| err(&self.path, format!("reading tensor `{name}`: {e}")))?;
        let values = decode(info.dtype, &raw);
        if let Some(at) = values.iter().position(|v| !v.is_finite()) {
            return Err(err(
                &self.path,
                format!("tensor `{name}` holds a non-finite value (element {at})"),
            ));
        }
        Ok(values)
    }
}

/// `[2, 3]`, with `any` for [`ANY`].
fn shape_text(shape: &[usize]) -> String {
    let dims: Vec<String> = shape
        .iter()
        .map(|&s| {
            if s == ANY {
                "any".into()
            } else {
                s.to_string()
            }
        })
        .collect();
    format!("[{}]", dims.join(", "))
}

/// Little-endian F32, F16 or BF16 bytes as f32 (other dtypes are refused before).
fn decode(dtype: Dtype, raw: &[u8]) -> Vec<f32> {
    match dtype {
        Dtype::F32 => raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F16 => raw
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        Dtype::BF16 => raw
            .chunks_exact(2)
            .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        _ => Vec::new(),
    }
}

/// Zeroed weights of `cfg`'s shape (an untied LM head only when the file has one).
fn blank(cfg: &TransformerConfig, lm_head: bool) -> Weights {
    let (d, i) = (cfg.hidden_size, cfg.intermediate_size);
    let qkv = cfg.q_dim() + 2 * cfg.kv_dim();
    let up = if cfg.gated_mlp() { 2 * i } else { i };
    let z = |len: usize, on: bool| if on { vec![0.0; len] } else { Vec::new() };
    let bias = cfg.linear_bias();
    let layer_norm = cfg.family != super::Family::Llama;
    let norm = || NormWeights {
        gamma: z(d, true),
        beta: z(d, layer_norm),
    };
    let layers = (0..cfg.num_layers)
        .map(|_| LayerWeights {
            wqkv: z(d * qkv, true),
            bqkv: z(qkv, cfg.qkv_bias),
            wo: z(cfg.q_dim() * d, true),
            bo: z(d, bias),
            w_up: z(d * up, true),
            b_up: z(up, bias),
            w_down: z(i * d, true),
            b_down: z(d, bias),
            norm1: norm(),
            norm2: norm(),
        })
        .collect();
    Weights {
        cfg: cfg.clone(),
        tokens: z(cfg.vocab_size * d, true),
        lm_head: z(cfg.vocab_size * d, lm_head),
        positions: z(cfg.max_positions * d, cfg.family != super::Family::Llama),
        outer_norm: norm(),
        layers,
    }
}

/// The vector of `w` that `slot` names (`None` for a block `cfg` does not have).
fn slot_mut(w: &mut Weights, slot: Slot) -> Option<&mut Vec<f32>> {
    use LayerSlot::*;
    Some(match slot {
        Slot::Tokens => &mut w.tokens,
        Slot::LmHead => &mut w.lm_head,
        Slot::Positions => &mut w.positions,
        Slot::OuterGamma => &mut w.outer_norm.gamma,
        Slot::OuterBeta => &mut w.outer_norm.beta,
        Slot::Layer(n, s) => {
            let l = w.layers.get_mut(n)?;
            match s {
                Wqkv => &mut l.wqkv,
                Bqkv => &mut l.bqkv,
                Wo => &mut l.wo,
                Bo => &mut l.bo,
                WUp => &mut l.w_up,
                BUp => &mut l.b_up,
                WDown => &mut l.w_down,
                BDown => &mut l.b_down,
                Gamma1 => &mut l.norm1.gamma,
                Beta1 => &mut l.norm1.beta,
                Gamma2 => &mut l.norm2.gamma,
                Beta2 => &mut l.norm2.beta,
            }
        }
    })
}

/// Puts `src` (stored as `shape`) into `dst` as `place` says; `Err` when it does not fit
/// (the pieces are built from the config, so this names a bug, never a panic).
fn place(dst: &mut [f32], shape: &[usize], place: Place, src: &[f32]) -> Result<(), String> {
    let dst_len = dst.len();
    let misfit = || format!("does not fit its destination of {dst_len} values");
    let cols = shape.last().copied().unwrap_or(1).max(1);
    match place {
        Place::At(off) => dst
            .get_mut(off..off + src.len())
            .ok_or_else(misfit)?
            .copy_from_slice(src),
        Place::Linear {
            cols: dst_cols,
            col,
        } => {
            let (out, inn) = (src.len() / cols, cols);
            if col + out > dst_cols || inn * dst_cols != dst.len() {
                return Err(misfit());
            }
            for (o, row) in src.chunks_exact(inn).enumerate() {
                for (i, &v) in row.iter().enumerate() {
                    dst[i * dst_cols + col + o] = v;
                }
            }
        }
        Place::RowsFrom(skip) => {
            let kept = src.get(skip * cols..).ok_or_else(misfit)?;
            dst.get_mut(..kept.len())
                .ok_or_else(misfit)?
                .copy_from_slice(kept);
        }
        Place::AddRow0 => {
            let row0 = src.get(..cols).ok_or_else(misfit)?;
            if !dst.len().is_multiple_of(cols) {
                return Err(misfit());
            }
            for row in dst.chunks_exact_mut(cols) {
                row.iter_mut().zip(row0).for_each(|(a, b)| *a += b);
            }
        }
    }
    Ok(())
}

impl Weights {
    /// The weights of `cfg` from the safetensors file at `path` (Hugging Face tensor
    /// names; F32, F16 or BF16), rounded to `precision`. Refused before anything is
    /// read when the file's header does not describe `cfg`, or when the load needs more
    /// than the run's share of the host memory available now.
    pub fn load(
        cfg: &TransformerConfig,
        path: &Path,
        precision: Precision,
    ) -> Result<Weights, ProfileError> {
        Self::load_within(cfg, path, precision, limits::available_memory_bytes())
    }

    /// [`Weights::load`] against `available_bytes` of host memory (`None`: unchecked).
    pub fn load_within(
        cfg: &TransformerConfig,
        path: &Path,
        precision: Precision,
        available_bytes: Option<u64>,
    ) -> Result<Weights, ProfileError> {
        let mut ck = Checkpoint::open(path)?;
        let plan = ck.plan(cfg, available_bytes)?;
        let head = plan
            .iter()
            .any(|(p, f)| p.slot == Slot::LmHead && f.is_some());
        let mut w = blank(cfg, head);
        for (piece, found) in &plan {
            let Some((name, info)) = found else { continue };
            let src = ck.read(name, info)?;
            let dst = slot_mut(&mut w, piece.slot)
                .ok_or_else(|| err(path, format!("tensor `{name}`: no such block")))?;
            place(dst, &piece.shape, piece.place, &src)
                .map_err(|why| err(path, format!("tensor `{name}` {why}")))?;
        }
        Ok(w.rounded(precision))
    }
}

/// Checks that the file at `path` holds `cfg`'s weights — every tensor present with its
/// shape and a readable dtype, the file as long as its header says — and that loading
/// it fits in host memory, reading only the header (a run refuses a bad file up front).
pub fn check(cfg: &TransformerConfig, path: &Path) -> Result<(), ProfileError> {
    Checkpoint::open(path)?.plan(cfg, limits::available_memory_bytes())?;
    Ok(())
}
