//! Platform adapters. Each only translates between its platform and the core.

pub mod console;
#[cfg(feature = "discord")]
pub mod discord;
#[cfg(feature = "telegram")]
pub mod telegram;
pub mod text;
