//! Model layer: pure cost–latency math and the plan types — no egui, no wgpu, no I/O.
//!
//! [`Evaluator::evaluate`] turns a plan and one [`Candidate`] into an [`Evaluation`];
//! [`optimize`] searches policy × servers × batch for the best objective, the Pareto
//! frontier and per-policy curves; [`break_even`] finds the request rate where
//! always-on stops being dearer than on-demand. No NaN or infinity ever leaves here:
//! an overloaded queue is an infeasible candidate with a reason.

pub mod batching;
pub mod breakeven;
pub mod cache;
pub mod catalog;
pub mod cold_start;
pub mod compare;
mod day;
pub mod energy;
pub mod evaluate;
pub mod evaluation;
pub mod hardware_cases;
pub mod hardware_mix;
pub mod hardware_scale;
pub mod hardware_sweep;
pub mod latency;
pub mod lazy;
pub mod llm;
mod llm_birth;
mod llm_elastic;
pub mod llm_kv;
pub mod llm_mix;
pub mod llm_replica;
pub mod llm_shape;
pub mod llm_types;
pub mod objective;
pub mod pareto;
pub mod passage;
pub mod policy;
pub mod projection;
pub mod queue;
pub mod routing;
pub mod spot;
pub mod sweep;
pub mod traffic;
pub mod types;

pub use breakeven::{BreakEven, break_even};
pub use evaluate::{Candidate, Evaluation, Evaluator, LatencyStats, ModelError, PolicyKind};
pub use objective::{Optimum, SweepOptions, optimize};
pub use types::*;
