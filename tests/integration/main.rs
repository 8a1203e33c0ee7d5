//! The integration tests: one binary (as ripgrep and just do), driving the real `credshim`.

mod harness;
mod rotate;
