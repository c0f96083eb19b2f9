//! The case rules, free of any platform, database or network code.

pub mod action;
pub mod authorities;
pub mod buttons;
pub mod case;
pub mod clock;
pub mod command;
pub mod dossier;
pub mod engine;
pub mod evidence;
pub mod evidence_cmd;
pub mod identity;
pub mod intake;
pub mod ladder;
pub mod message;
pub mod moderation;
pub mod policy;
pub mod ports;
pub mod report;
pub mod scam;
pub mod screening;
pub mod secrets;
pub mod services;
pub mod steps;
pub mod victim;
pub mod views;
pub mod webhook;
