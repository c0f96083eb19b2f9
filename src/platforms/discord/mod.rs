//! The Discord adapter (poise 0.7 on serenity 0.12.5). It only translates: every decision is
//! the core's.
//!
//! Rooms: [`gateway`] (the connection, under a lease, and poise's framework), [`commands`] (the
//! slash commands), [`adapter`] (one interaction: acknowledged, handed to the engine, answered
//! in place), [`inbound`] (interactions → core inputs, who moderates), [`render`] (core
//! messages → Discord's shape), [`sink`] (the outbox's sink, and the REST calls that answer
//! interactions, with Discord's rate limits read from its headers).

pub mod adapter;
pub mod commands;
pub mod gateway;
pub mod inbound;
pub mod render;
pub mod sink;

pub use sink::DiscordSink;
