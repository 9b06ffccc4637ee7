//! Shared test helpers: tiny safetensors checkpoints written with the `safetensors`
//! crate in the Hugging Face names and PyTorch layouts (`nn.Linear` weights [out, in],
//! GPT-2's `Conv1D` [in, out]), from `Weights` whose values the tests know.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use costscope::profile::workloads::transformer::weights::{NormWeights, Weights};
use costscope::profile::workloads::transformer::{Family, TransformerConfig};
use safetensors::Dtype;
use safetensors::tensor::TensorView;

/// A fresh file path under the temp folder, unique to this process and `name`.
pub fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("costscope-checkpoint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Tensors by name, each (shape, f32 values), stored at one dtype.
#[derive(Default)]
pub struct Tensors(pub Vec<(String, Vec<usize>, Vec<f32>)>);

impl Tensors {
    pub fn add(&mut self, name: impl Into<String>, shape: &[usize], values: Vec<f32>) {
        assert_eq!(shape.iter().product::<usize>(), values.len());
        self.0.push((name.into(), shape.to_vec(), values));
    }

    /// The values of tensor `name`.
    pub fn get(&self, name: &str) -> &[f32] {
        &self.0.iter().find(|t| t.0 == name).unwrap().2
    }

    pub fn remove(&mut self, name: &str) {
        self.0.retain(|t| t.0 != name);
    }

    /// The safetensors bytes at `dtype` (F32, F16 or BF16).
    pub fn bytes(&self, dtype: Dtype) -> Vec<u8> {
        self.bytes_with(&|_| dtype)
    }

    /// The safetensors bytes, each tensor at the dtype `dtype_of` gives its name.
    pub fn bytes_with(&self, dtype_of: &dyn Fn(&str) -> Dtype) -> Vec<u8> {
        let raw: Vec<(String, Vec<usize>, Dtype, Vec<u8>)> = self
            .0
            .iter()
            .map(|(n, s, v)| (n.clone(), s.clone(), dtype_of(n), encode(dtype_of(n), v)))
            .collect();
        let views = raw
            .iter()
            .map(|(n, s, t, b)| (n.clone(), TensorView::new(*t, s.clone(), b).unwrap()));
        safetensors::serialize(views, None).unwrap()
    }

    pub fn write(&self, path: &Path, dtype: Dtype) {
        std::fs::write(path, self.bytes(dtype)).unwrap();
    }
}

fn encode(dtype: Dtype, v: &[f32]) -> Vec<u8> {
    match dtype {
        Dtype::F32 => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Dtype::F16 => v
            .iter()
            .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
            .collect(),
        Dtype::BF16 => v
            .iter()
            .flat_map(|&x| half::bf16::from_f32(x).to_le_bytes())
            .collect(),
        Dtype::I32 => v.iter().flat_map(|&x| (x as i32).to_le_bytes()).collect(),
        other => panic!("no encoder for {other}"),
    }
}

/// Columns `col..col + out` of an `inn` × `cols` row-major matrix, as a PyTorch
/// `nn.Linear` weight [out, inn].
pub fn linear_of(m: &[f32], (inn, cols): (usize, usize), (col, out): (usize, usize)) -> Vec<f32> {
    let mut t = vec![0.0; out * inn];
    for o in 0..out {
        for i in 0..inn {
            t[o * inn + i] = m[i * cols + col + o];
        }
    }
    t
}

fn norm(t: &mut Tensors, name: &str, n: &NormWeights, old_names: bool) {
    let d = n.gamma.len();
    let (g, b) = if old_names {
        ("gamma", "beta")
    } else {
        ("weight", "bias")
    };
    t.add(format!("{name}.{g}"), &[d], n.gamma.clone());
    if !n.beta.is_empty() {
        t.add(format!("{name}.{b}"), &[d], n.beta.clone());
    }
}

/// An encoder checkpoint: `scheme` "bert" (with `prefix`, token types `types` rows
/// [2, d], LayerNorm as the older gamma/beta) or "distilbert". `positions` is what the
/// file's position table holds.
pub fn encoder(
    w: &Weights,
    scheme: &str,
    prefix: &str,
    types: &[f32],
    positions: &[f32],
) -> Tensors {
    let cfg = &w.cfg;
    let (d, i, q, kv) = (
        cfg.hidden_size,
        cfg.intermediate_size,
        cfg.q_dim(),
        cfg.kv_dim(),
    );
    let qkv = q + 2 * kv;
    let distil = scheme == "distilbert";
    let mut t = Tensors::default();
    t.add(
        format!("{prefix}embeddings.word_embeddings.weight"),
        &[cfg.vocab_size, d],
        w.tokens.clone(),
    );
    let rows = positions.len() / d;
    t.add(
        format!("{prefix}embeddings.position_embeddings.weight"),
        &[rows, d],
        positions.to_vec(),
    );
    if !distil {
        t.add(
            format!("{prefix}embeddings.token_type_embeddings.weight"),
            &[2, d],
            types.to_vec(),
        );
    }
    norm(
        &mut t,
        &format!("{prefix}embeddings.LayerNorm"),
        &w.outer_norm,
        !distil,
    );
    let names = if distil {
        [
            "attention.q_lin",
            "attention.k_lin",
            "attention.v_lin",
            "attention.out_lin",
            "sa_layer_norm",
            "ffn.lin1",
            "ffn.lin2",
            "output_layer_norm",
        ]
    } else {
        [
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
            "attention.output.LayerNorm",
            "intermediate.dense",
            "output.dense",
            "output.LayerNorm",
        ]
    };
    let block = if distil {
        "transformer.layer"
    } else {
        "encoder.layer"
    };
    for (n, l) in w.layers.iter().enumerate() {
        let b = |k: usize| format!("{prefix}{block}.{n}.{}", names[k]);
        for (k, (col, out)) in [(0, q), (q, kv), (q + kv, kv)].into_iter().enumerate() {
            t.add(
                format!("{}.weight", b(k)),
                &[out, d],
                linear_of(&l.wqkv, (d, qkv), (col, out)),
            );
            t.add(
                format!("{}.bias", b(k)),
                &[out],
                l.bqkv[col..col + out].to_vec(),
            );
        }
        t.add(
            format!("{}.weight", b(3)),
            &[d, q],
            linear_of(&l.wo, (q, d), (0, d)),
        );
        t.add(format!("{}.bias", b(3)), &[d], l.bo.clone());
        norm(&mut t, &b(4), &l.norm1, false);
        t.add(
            format!("{}.weight", b(5)),
            &[i, d],
            linear_of(&l.w_up, (d, i), (0, i)),
        );
        t.add(format!("{}.bias", b(5)), &[i], l.b_up.clone());
        t.add(
            format!("{}.weight", b(6)),
            &[d, i],
            linear_of(&l.w_down, (i, d), (0, d)),
        );
        t.add(format!("{}.bias", b(6)), &[d], l.b_down.clone());
        norm(&mut t, &b(7), &l.norm2, false);
    }
    // Heads the loader does not read.
    t.add(
        "cls.predictions.bias",
        &[cfg.vocab_size],
        vec![0.5; cfg.vocab_size],
    );
    t
}

/// A GPT-2 checkpoint without the `transformer.` prefix, `Conv1D` matrices as stored,
/// plus the causal-mask buffer older files carry.
pub fn gpt2(w: &Weights) -> Tensors {
    let cfg = &w.cfg;
    let (d, i, q) = (cfg.hidden_size, cfg.intermediate_size, cfg.q_dim());
    let mut t = Tensors::default();
    t.add("wte.weight", &[cfg.vocab_size, d], w.tokens.clone());
    t.add("wpe.weight", &[cfg.max_positions, d], w.positions.clone());
    for (n, l) in w.layers.iter().enumerate() {
        let h = format!("h.{n}");
        norm(&mut t, &format!("{h}.ln_1"), &l.norm1, false);
        t.add(
            format!("{h}.attn.c_attn.weight"),
            &[d, 3 * q],
            l.wqkv.clone(),
        );
        t.add(format!("{h}.attn.c_attn.bias"), &[3 * q], l.bqkv.clone());
        t.add(format!("{h}.attn.c_proj.weight"), &[q, d], l.wo.clone());
        t.add(format!("{h}.attn.c_proj.bias"), &[d], l.bo.clone());
        norm(&mut t, &format!("{h}.ln_2"), &l.norm2, false);
        t.add(format!("{h}.mlp.c_fc.weight"), &[d, i], l.w_up.clone());
        t.add(format!("{h}.mlp.c_fc.bias"), &[i], l.b_up.clone());
        t.add(format!("{h}.mlp.c_proj.weight"), &[i, d], l.w_down.clone());
        t.add(format!("{h}.mlp.c_proj.bias"), &[d], l.b_down.clone());
        t.add(format!("{h}.attn.bias"), &[1, 1, 4, 4], vec![1.0; 16]);
    }
    norm(&mut t, "ln_f", &w.outer_norm, false);
    t
}

/// A Llama-family checkpoint (`model.` prefix), Q/K/V biases when the config has them,
/// `lm_head.weight` when `w` has an untied head.
pub fn llama(w: &Weights) -> Tensors {
    let cfg = &w.cfg;
    let (d, i, q, kv) = (
        cfg.hidden_size,
        cfg.intermediate_size,
        cfg.q_dim(),
        cfg.kv_dim(),
    );
    let qkv = q + 2 * kv;
    let mut t = Tensors::default();
    t.add(
        "model.embed_tokens.weight",
        &[cfg.vocab_size, d],
        w.tokens.clone(),
    );
    for (n, l) in w.layers.iter().enumerate() {
        let p = format!("model.layers.{n}");
        norm(&mut t, &format!("{p}.input_layernorm"), &l.norm1, false);
        for (k, (col, out)) in ["q", "k", "v"]
            .into_iter()
            .zip([(0, q), (q, kv), (q + kv, kv)])
        {
            let name = format!("{p}.self_attn.{k}_proj");
            t.add(
                format!("{name}.weight"),
                &[out, d],
                linear_of(&l.wqkv, (d, qkv), (col, out)),
            );
            if cfg.qkv_bias {
                t.add(
                    format!("{name}.bias"),
                    &[out],
                    l.bqkv[col..col + out].to_vec(),
                );
            }
        }
        t.add(
            format!("{p}.self_attn.o_proj.weight"),
            &[d, q],
            linear_of(&l.wo, (q, d), (0, d)),
        );
        norm(
            &mut t,
            &format!("{p}.post_attention_layernorm"),
            &l.norm2,
            false,
        );
        t.add(
            format!("{p}.mlp.gate_proj.weight"),
            &[i, d],
            linear_of(&l.w_up, (d, 2 * i), (0, i)),
        );
        t.add(
            format!("{p}.mlp.up_proj.weight"),
            &[i, d],
            linear_of(&l.w_up, (d, 2 * i), (i, i)),
        );
        t.add(
            format!("{p}.mlp.down_proj.weight"),
            &[d, i],
            linear_of(&l.w_down, (i, d), (0, d)),
        );
        t.add(
            format!("{p}.self_attn.rotary_emb.inv_freq"),
            &[cfg.head_dim / 2],
            vec![1.0; cfg.head_dim / 2],
        );
    }
    norm(&mut t, "model.norm", &w.outer_norm, false);
    if !w.lm_head.is_empty() {
        t.add("lm_head.weight", &[cfg.vocab_size, d], w.lm_head.clone());
    }
    t
}

/// The checkpoint of `w` in its family's names (BERT with the `bert.` prefix and zero
/// token types, so its file's positions are `w`'s).
pub fn checkpoint(w: &Weights) -> Tensors {
    let cfg: &TransformerConfig = &w.cfg;
    match cfg.family {
        Family::Encoder => {
            let zeros = vec![0.0; 2 * cfg.hidden_size];
            encoder(w, "bert", "bert.", &zeros, &w.positions)
        }
        Family::Gpt2 => gpt2(w),
        Family::Llama => llama(w),
    }
}

/// Every vector of two weights equal, element for element (named in the failure).
pub fn assert_same(a: &Weights, b: &Weights) {
    let v = |w: &Weights| {
        let mut all = vec![
            ("tokens", w.tokens.clone()),
            ("lm_head", w.lm_head.clone()),
            ("positions", w.positions.clone()),
            ("outer gamma", w.outer_norm.gamma.clone()),
            ("outer beta", w.outer_norm.beta.clone()),
        ];
        for l in &w.layers {
            for (n, x) in [
                ("wqkv", &l.wqkv),
                ("bqkv", &l.bqkv),
                ("wo", &l.wo),
                ("bo", &l.bo),
                ("w_up", &l.w_up),
                ("b_up", &l.b_up),
                ("w_down", &l.w_down),
                ("b_down", &l.b_down),
                ("norm1 gamma", &l.norm1.gamma),
                ("norm1 beta", &l.norm1.beta),
                ("norm2 gamma", &l.norm2.gamma),
                ("norm2 beta", &l.norm2.beta),
            ] {
                all.push((n, x.clone()));
            }
        }
        all
    };
    for ((name, x), (_, y)) in v(a).into_iter().zip(v(b)) {
        assert_eq!(x.len(), y.len(), "{name}: lengths");
        if let Some(at) = x.iter().zip(&y).position(|(p, q)| p != q) {
            panic!("{name}[{at}]: {} ≠ {}", x[at], y[at]);
        }
    }
}
