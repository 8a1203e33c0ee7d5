//! The JSON format's old path, `crate::json`, kept only so that `lib.rs` (refactored on another
//! branch) compiles unchanged: it is [`crate::format::json`]. Delete this file with the
//! `pub mod json;` line.

pub use crate::format::json::{JsonError, get, splice, tokens, verify};
