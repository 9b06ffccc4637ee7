//! costscope: measure ML inference kernels on your own GPU and CPU, and explore what
//! it costs to serve a model at a given latency.
//!
//! Layers (dependencies point one way): [`model`] (pure math and plan types) →
//! [`plan`] (RON presets: load, validate, save), [`profile`] (wgpu and CPU kernel
//! measurement) and [`sim`] (the discrete-event fleet simulator the model is checked
//! against) → [`app`] (the desktop window) and [`cli`] (the command line).

pub mod app;
pub mod calibrate;
pub mod cli;
pub mod files;
pub mod model;
pub mod plan;
pub mod profile;
pub mod sim;
