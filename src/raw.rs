//! The raw format's old path, `crate::raw`, kept only so that `lib.rs` (refactored on another
//! branch) compiles unchanged: it is [`crate::format::raw`]. Delete this file with the
//! `pub mod raw;` line.

pub use crate::format::raw::{get, splice};
