//! The integration tests: one binary (as ripgrep and just do), driving the real `credshim`.

mod expiry;
mod harness;
mod rotate;
