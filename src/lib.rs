//! credshim: keep a short-lived credential fresh inside an application that reads a long-lived one.

pub mod dotenv;
pub mod expiry;
