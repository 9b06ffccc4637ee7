//! costscope: measure ML inference kernels on your own GPU and CPU, and explore what
//! it costs to serve a model at a given latency.
//!
//! Layers (dependencies point one way): [`model`] (pure math and plan types) →
//! [`plan`] (RON presets: load, validate, save) → [`cli`] (the command line).
//! [`sim`] is the discrete-event fleet simulator the model is checked against
//! (`costscope simulate`). The profiler and desktop app build on these.

pub mod cli;
pub mod cli_table;
pub mod model;
pub mod plan;
pub mod sim;
