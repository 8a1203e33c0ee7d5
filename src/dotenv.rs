//! The `.env` format's old path, `crate::dotenv`, kept only so that `lib.rs` (refactored on
//! another branch) compiles unchanged: it is [`crate::format::env`]. Delete this file with the
//! `pub mod dotenv;` line.

pub use crate::format::env::{SpliceError, Spliced, get, splice, valid_key, verify};
