//! profile layer: where each tensor of a Hugging Face checkpoint goes in
//! [`Weights`](super::weights::Weights) — the names, stored shapes and layouts of the
//! encoder (BERT, RoBERTa, DistilBERT), GPT-2 and Llama (Qwen2, Mistral) families, as
//! the transformers library saves them.

use super::{Family, TransformerConfig};

/// A stored dimension that may be any size of at least 1 (the token-type table's rows,
/// which config.json's shape keys do not fix).
pub const ANY: usize = 0;

/// Which vector of a block a piece fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerSlot {
    /// `wqkv`.
    Wqkv,
    /// `bqkv`.
    Bqkv,
    /// `wo`.
    Wo,
    /// `bo`.
    Bo,
    /// `w_up`.
    WUp,
    /// `b_up`.
    BUp,
    /// `w_down`.
    WDown,
    /// `b_down`.
    BDown,
    /// `norm1.gamma`.
    Gamma1,
    /// `norm1.beta`.
    Beta1,
    /// `norm2.gamma`.
    Gamma2,
    /// `norm2.beta`.
    Beta2,
}

/// Which vector of the weights a piece fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// The token table.
    Tokens,
    /// An untied LM head.
    LmHead,
    /// The learned position table.
    Positions,
    /// The outer norm's gamma.
    OuterGamma,
    /// The outer norm's beta.
    OuterBeta,
    /// A vector of block `n`.
    Layer(usize, LayerSlot),
}

/// How a stored tensor lands in its slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// Element for element from this offset: vectors, embedding tables and GPT-2's
    /// `Conv1D` matrices, which are stored input-first ([in, out]) already.
    At(usize),
    /// A PyTorch `nn.Linear` weight ([out, in]), transposed into columns
    /// `col..col + out` of an in × `cols` matrix.
    Linear {
        /// Columns of the destination matrix.
        cols: usize,
        /// Its first column this tensor fills.
        col: usize,
    },
    /// A table whose rows from this one on are the slot's rows 0.. (RoBERTa's positions);
    /// the slot's last rows, which no sequence reaches, stay zero.
    RowsFrom(usize),
    /// Row 0 of a [rows, d] table added to every row of the slot: BERT's token-type
    /// embedding of type 0, folded into the position table.
    AddRow0,
}

/// One stored tensor and where it goes.
#[derive(Clone, Debug, PartialEq)]
pub struct Piece {
    /// Its name, then the older aliases tried after it (LayerNorm `gamma`/`beta`).
    pub names: Vec<String>,
    /// Its shape in the file ([`ANY`] matches any size ≥ 1).
    pub shape: Vec<usize>,
    /// The vector it fills.
    pub slot: Slot,
    /// How.
    pub place: Place,
    /// A missing optional tensor is not an error (token types, an untied LM head).
    pub optional: bool,
}

impl Piece {
    fn new(name: String, shape: Vec<usize>, slot: Slot, place: Place) -> Self {
        Piece {
            names: vec![name],
            shape,
            slot,
            place,
            optional: false,
        }
    }
}

/// Builds the pieces of one model.
struct Pieces(Vec<Piece>);

impl Pieces {
    fn at(&mut self, name: String, shape: Vec<usize>, slot: Slot, off: usize) {
        self.0.push(Piece::new(name, shape, slot, Place::At(off)));
    }

    /// An `nn.Linear` weight `{name}.weight` ([out, in]) into columns `col..` of an
    /// in × `cols` matrix, and its bias `{name}.bias` at `col` when `bias` names a slot.
    fn linear(
        &mut self,
        name: &str,
        (out, inn): (usize, usize),
        to: (Slot, Option<Slot>),
        (cols, col): (usize, usize),
    ) {
        let place = Place::Linear { cols, col };
        self.0.push(Piece::new(
            format!("{name}.weight"),
            vec![out, inn],
            to.0,
            place,
        ));
        if let Some(bias) = to.1 {
            self.at(format!("{name}.bias"), vec![out], bias, col);
        }
    }

    /// A LayerNorm (`weight` and `bias`, or the older `gamma` and `beta`) or, without a
    /// beta slot, an RMSNorm (`weight`).
    fn norm(&mut self, name: &str, d: usize, gamma: Slot, beta: Option<Slot>) {
        let mut g = Piece::new(format!("{name}.weight"), vec![d], gamma, Place::At(0));
        if let Some(beta) = beta {
            g.names.push(format!("{name}.gamma"));
            let mut b = Piece::new(format!("{name}.bias"), vec![d], beta, Place::At(0));
            b.names.push(format!("{name}.beta"));
            self.0.extend([g, b]);
        } else {
            self.0.push(g);
        }
    }
}

/// The first of `prefixes` under which the file has `probe` (the last, `""`, when none).
fn prefix(has: &dyn Fn(&str) -> bool, prefixes: &[&'static str], probe: &str) -> &'static str {
    prefixes
        .iter()
        .copied()
        .find(|p| has(&format!("{p}{probe}")))
        .unwrap_or("")
}

/// The pieces of `cfg`'s weights, in the order they are applied, for a file whose
/// tensor names `has` answers for (it picks the optional prefix and, for encoders,
/// BERT's or DistilBERT's names).
pub fn pieces(cfg: &TransformerConfig, has: &dyn Fn(&str) -> bool) -> Vec<Piece> {
    match cfg.family {
        Family::Encoder => encoder(cfg, has),
        Family::Gpt2 => gpt2(cfg, has),
        Family::Llama => llama(cfg, has),
    }
}

/// Layer-slot shorthand.
fn ls(n: usize, s: LayerSlot) -> Slot {
    Slot::Layer(n, s)
}

fn encoder(cfg: &TransformerConfig, has: &dyn Fn(&str) -> bool) -> Vec<Piece> {
    use LayerSlot::*;
    let (d, i, q, kv) = (
        cfg.hidden_size,
        cfg.intermediate_size,
        cfg.q_dim(),
        cfg.kv_dim(),
    );
    let qkv = q + 2 * kv;
    let probe = "embeddings.word_embeddings.weight";
    let p = prefix(has, &["bert.", "roberta.", "distilbert.", ""], probe);
    let distil =
        p == "distilbert." || (p.is_empty() && has("transformer.layer.0.attention.q_lin.weight"));
    let mut s = Pieces(Vec::new());
    s.at(
        format!("{p}{probe}"),
        vec![cfg.vocab_size, d],
        Slot::Tokens,
        0,
    );
    let place = match cfg.position_offset {
        0 => Place::At(0),
        skip => Place::RowsFrom(skip),
    };
    let pos = format!("{p}embeddings.position_embeddings.weight");
    s.0.push(Piece::new(
        pos,
        vec![cfg.max_positions, d],
        Slot::Positions,
        place,
    ));
    if !distil {
        let types = format!("{p}embeddings.token_type_embeddings.weight");
        let mut t = Piece::new(types, vec![ANY, d], Slot::Positions, Place::AddRow0);
        t.optional = true;
        s.0.push(t);
    }
    s.norm(
        &format!("{p}embeddings.LayerNorm"),
        d,
        Slot::OuterGamma,
        Some(Slot::OuterBeta),
    );
    // (q, k, v, attention out, norm 1, MLP up, MLP down, norm 2) under one block's prefix.
    let names: [&str; 8] = if distil {
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
    for n in 0..cfg.num_layers {
        let b = |k: usize| format!("{p}{block}.{n}.{}", names[k]);
        let to = |w, bias| (ls(n, w), Some(ls(n, bias)));
        s.linear(&b(0), (q, d), to(Wqkv, Bqkv), (qkv, 0));
        s.linear(&b(1), (kv, d), to(Wqkv, Bqkv), (qkv, q));
        s.linear(&b(2), (kv, d), to(Wqkv, Bqkv), (qkv, q + kv));
        s.linear(&b(3), (d, q), to(Wo, Bo), (d, 0));
        s.norm(&b(4), d, ls(n, Gamma1), Some(ls(n, Beta1)));
        s.linear(&b(5), (i, d), to(WUp, BUp), (i, 0));
        s.linear(&b(6), (d, i), to(WDown, BDown), (d, 0));
        s.norm(&b(7), d, ls(n, Gamma2), Some(ls(n, Beta2)));
    }
    s.0
}

fn gpt2(cfg: &TransformerConfig, has: &dyn Fn(&str) -> bool) -> Vec<Piece> {
    use LayerSlot::*;
    let (d, i, q, kv) = (
        cfg.hidden_size,
        cfg.intermediate_size,
        cfg.q_dim(),
        cfg.kv_dim(),
    );
    let qkv = q + 2 * kv;
    let p = prefix(has, &["transformer.", ""], "wte.weight");
    let mut s = Pieces(Vec::new());
    s.at(
        format!("{p}wte.weight"),
        vec![cfg.vocab_size, d],
        Slot::Tokens,
        0,
    );
    s.at(
        format!("{p}wpe.weight"),
        vec![cfg.max_positions, d],
        Slot::Positions,
        0,
    );
    for n in 0..cfg.num_layers {
        let h = format!("{p}h.{n}");
        s.norm(&format!("{h}.ln_1"), d, ls(n, Gamma1), Some(ls(n, Beta1)));
        // Conv1D stores [in, out]: already the input-first layout, c_attn's columns Q, K, V.
        s.at(
            format!("{h}.attn.c_attn.weight"),
            vec![d, qkv],
            ls(n, Wqkv),
            0,
        );
        s.at(format!("{h}.attn.c_attn.bias"), vec![qkv], ls(n, Bqkv), 0);
        s.at(format!("{h}.attn.c_proj.weight"), vec![q, d], ls(n, Wo), 0);
        s.at(format!("{h}.attn.c_proj.bias"), vec![d], ls(n, Bo), 0);
        s.norm(&format!("{h}.ln_2"), d, ls(n, Gamma2), Some(ls(n, Beta2)));
        s.at(format!("{h}.mlp.c_fc.weight"), vec![d, i], ls(n, WUp), 0);
        s.at(format!("{h}.mlp.c_fc.bias"), vec![i], ls(n, BUp), 0);
        s.at(
            format!("{h}.mlp.c_proj.weight"),
            vec![i, d],
            ls(n, WDown),
            0,
        );
        s.at(format!("{h}.mlp.c_proj.bias"), vec![d], ls(n, BDown), 0);
    }
    s.norm(
        &format!("{p}ln_f"),
        d,
        Slot::OuterGamma,
        Some(Slot::OuterBeta),
    );
    s.0
}

fn llama(cfg: &TransformerConfig, has: &dyn Fn(&str) -> bool) -> Vec<Piece> {
    use LayerSlot::*;
    let (d, i, q, kv) = (
        cfg.hidden_size,
        cfg.intermediate_size,
        cfg.q_dim(),
        cfg.kv_dim(),
    );
    let qkv = q + 2 * kv;
    let p = prefix(has, &["model.", ""], "embed_tokens.weight");
    let mut s = Pieces(Vec::new());
    s.at(
        format!("{p}embed_tokens.weight"),
        vec![cfg.vocab_size, d],
        Slot::Tokens,
        0,
    );
    for n in 0..cfg.num_layers {
        let l = format!("{p}layers.{n}");
        let qkv_bias = cfg.qkv_bias.then_some(ls(n, Bqkv));
        s.norm(&format!("{l}.input_layernorm"), d, ls(n, Gamma1), None);
        let attn = |k: &str| format!("{l}.self_attn.{k}_proj");
        s.linear(&attn("q"), (q, d), (ls(n, Wqkv), qkv_bias), (qkv, 0));
        s.linear(&attn("k"), (kv, d), (ls(n, Wqkv), qkv_bias), (qkv, q));
        s.linear(&attn("v"), (kv, d), (ls(n, Wqkv), qkv_bias), (qkv, q + kv));
        s.linear(&attn("o"), (d, q), (ls(n, Wo), None), (d, 0));
        s.norm(
            &format!("{l}.post_attention_layernorm"),
            d,
            ls(n, Gamma2),
            None,
        );
        // The gated MLP's up matrix holds the gate columns first, then the up columns.
        s.linear(
            &format!("{l}.mlp.gate_proj"),
            (i, d),
            (ls(n, WUp), None),
            (2 * i, 0),
        );
        s.linear(
            &format!("{l}.mlp.up_proj"),
            (i, d),
            (ls(n, WUp), None),
            (2 * i, i),
        );
        s.linear(
            &format!("{l}.mlp.down_proj"),
            (d, i),
            (ls(n, WDown), None),
            (d, 0),
        );
    }
    s.norm(&format!("{p}norm"), d, Slot::OuterGamma, None);
    if !cfg.tied_embeddings {
        // A file without one is read as tied: the head is the token table.
        let mut head = Piece::new(
            "lm_head.weight".into(),
            vec![cfg.vocab_size, d],
            Slot::LmHead,
            Place::At(0),
        );
        head.optional = true;
        s.0.push(head);
    }
    s.0
}
