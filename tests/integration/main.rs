//! The integration tests: one binary (as ripgrep and just do), driving the real `credshim`.

mod aws_credentials;
mod chaos;
mod children;
mod cron;
mod expiry;
mod faults;
mod formats;
mod generated;
mod harness;
mod hostile;
mod ini;
mod jobs;
mod kubernetes;
mod paths;
mod postgres;
mod readers;
mod readers_ini;
mod regressions;
mod rotate;
