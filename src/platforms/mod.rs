//! Platform adapters. Each only translates between its platform and the core.

pub mod console;
#[cfg(feature = "telegram")]
pub mod telegram;
