//! Recourse: a community bot that walks crypto-theft victims up the escalation ladder
//! (support, public, complaint, regulators and police) and keeps moderators in the loop.
//!
//! # Layout
//! - [`core`]: the case rules: cases and their timeline, the support-silence clock, the
//!   ladder, evidence, secrets, the engine that turns commands into decisions. No I/O.
//! - [`store`]: the only place with SQL (SQLite and PostgreSQL behind one port).
//! - [`scheduler`]: claims due ladder steps; [`delivery`]: the outbox that sends messages.
//! - [`webhook`]: the signed outgoing webhook (escalations and moderator notices for other
//!   tools), its router beside the platform sink, and a local receiver for tests.
//! - [`prompts`]: every user-facing word, from `prompts/<locale>/`.
//! - [`platforms`]: adapters (the terminal console now; Discord and Telegram later).
//! - [`app`]: wiring for the `recourse` binary.

pub mod app;
pub mod bench;
pub mod config;
pub mod core;
pub mod delivery;
pub mod platforms;
pub mod prompts;
pub mod ratelimit;
pub mod scheduler;
pub mod store;
pub mod webhook;
