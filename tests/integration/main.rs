//! The integration tests: one binary (as ripgrep and just do), driving the real `credshim`.

mod expiry;
mod formats;
mod generated;
mod harness;
mod postgres;
mod readers;
mod rotate;
