//! The integration tests: one binary (as ripgrep and just do), driving the real `credshim`.

mod backstage_yaml;
mod chaos;
mod children;
mod cron;
mod expiry;
mod faults;
mod formats;
mod generated;
mod harness;
mod hostile;
mod jobs;
mod kubernetes;
mod paths;
mod pgpass_e2e;
mod postgres;
mod probe;
mod readers;
mod readers_pgpass;
mod readers_properties;
mod readers_toml;
mod readers_yaml;
mod regressions;
mod rotate;
mod toml_service;
