//! Screening every message before anything else sees it: secrets are refused (and, in a shared
//! channel, the message is to be deleted), and channel messages are checked for recovery scams.

use minijinja::context;

use crate::core::command::{self, Command, ParseError, Parsed};
use crate::core::engine::{Ctx, Engine, EngineError, Outcome};
use crate::core::intake::{Intake, Question};
use crate::core::message::{Outgoing, Recipient};
use crate::core::ports::Store;
use crate::core::report::is_tx_key;
use crate::core::secrets::{self, Assessment, Field};
use crate::prompts::PromptKey;

impl<S: Store> Engine<S> {
    /// Refuses secrets before anything else sees the text. A 64-hex value is a transaction
    /// hash only where one was asked for: the evidence question or a `tx=` field.
    pub(crate) fn screen(
        &self,
        cx: &Ctx<'_>,
        parsed: &Result<Parsed, ParseError>,
        intake: Option<&Intake>,
    ) -> Result<Option<Outcome>, EngineError> {
        let text = &cx.msg.text;
        let mut verdicts = Vec::new();
        match parsed {
            Ok(Parsed::Command(Command::Report(pairs))) => {
                for (k, v) in pairs {
                    let field = if is_tx_key(k) {
                        Field::TxHash
                    } else {
                        Field::FreeText
                    };
                    verdicts.push(secrets::assess(v, field));
                }
                verdicts.push(secrets::assess(&blank_tx_values(text), Field::FreeText));
            }
            Ok(Parsed::Text) if intake.is_some_and(|i| i.question == Question::Evidence) => {
                verdicts.push(secrets::assess(text, Field::TxHash));
            }
            Ok(Parsed::Command(Command::Evidence {
                action: command::EvidenceAction::Add,
                ..
            })) => verdicts.push(secrets::assess(text, Field::TxHash)),
            _ => verdicts.push(secrets::assess(text, Field::FreeText)),
        }
        let mut kinds = Vec::new();
        let mut ambiguous = false;
        for v in verdicts {
            match v {
                Assessment::Clean => {}
                Assessment::Secret(k) => kinds.extend(k),
                Assessment::AmbiguousHex => ambiguous = true,
            }
        }
        if kinds.is_empty() && !ambiguous {
            return Ok(None);
        }
        if kinds.is_empty() && !cx.msg.private {
            // People share transaction hashes in community channels all the time: leave a
            // bare one alone there, store nothing, and refuse it only inside a command.
            return match parsed {
                Ok(Parsed::Text) if intake.is_none() => Ok(Some(Outcome::default())),
                _ => Ok(Some(self.reply(
                    cx,
                    PromptKey::HexAmbiguous,
                    context! {},
                )?)),
            };
        }
        tracing::info!(user = ?cx.msg.actor.user, secret = !kinds.is_empty(), "message refused: possible secret");
        let kinds: Vec<&str> = kinds.iter().map(|k| secret_kind_key(*k)).collect();
        let key = if kinds.is_empty() {
            PromptKey::HexAmbiguous
        } else {
            PromptKey::SecretRefused
        };
        let mut outcome = Outcome::default();
        let private_text = self.svc.render(
            cx.locale,
            key,
            &context! { kinds => kinds, public => false, name => cx.msg.actor.name },
        )?;
        if cx.msg.private {
            outcome.out.push(self.to_chat(cx, private_text));
        } else {
            // Seen by others: delete it, warn without repeating it, tell the sender privately
            // and let moderators know.
            outcome.delete_original = true;
            let public = self.svc.render(
                self.svc.public_locale,
                key,
                &context! { kinds => kinds, public => true, name => cx.msg.actor.name },
            )?;
            outcome.out.push(self.to_chat(cx, public));
            outcome.out.push(Outgoing::fresh(
                None,
                Recipient::User {
                    user: cx.msg.actor.user.clone(),
                },
                private_text,
            ));
            let notice = self.svc.render(
                self.svc.default_locale,
                PromptKey::ModNotice,
                &context! { what => "secret_deleted", name => cx.msg.actor.name, platform => cx.msg.actor.user.platform().key() },
            )?;
            outcome
                .out
                .push(Outgoing::fresh(None, Recipient::Moderators, notice));
        }
        Ok(Some(outcome))
    }

    /// A channel message offering "fund recovery", hacking or DMs: alert moderators with its
    /// link, and (as configured) warn in the channel and delete it.
    pub(crate) fn watch_channel(&self, cx: &Ctx<'_>) -> Result<Outcome, EngineError> {
        let Some(m) = self.svc.scam.check(&cx.msg.text) else {
            return Ok(Outcome::default());
        };
        tracing::info!(pattern = %m.pattern, user = ?cx.msg.actor.user, "recovery-scam message flagged");
        let settings = &self.svc.scam_settings;
        let mut outcome = Outcome {
            delete_original: settings.delete,
            ..Outcome::default()
        };
        let notice = self.svc.render(
            self.svc.default_locale,
            PromptKey::ModNotice,
            &context! {
                what => "scam_flagged",
                name => cx.msg.actor.name,
                platform => cx.msg.actor.user.platform().key(),
                category => m.category.key(),
                pattern => m.pattern,
                link => cx.msg.link,
                deleted => settings.delete,
                excerpt => crate::core::secrets::redact(&cx.msg.text.chars().take(200).collect::<String>()),
            },
        )?;
        outcome
            .out
            .push(Outgoing::fresh(None, Recipient::Moderators, notice));
        if settings.warn_in_channel {
            let warning = self.svc.render(
                self.svc.public_locale,
                PromptKey::ScamWarning,
                &context! { category => m.category.key(), deleted => settings.delete },
            )?;
            outcome.out.push(self.to_chat(cx, warning));
        }
        Ok(outcome)
    }
}

/// The `/report` text with `tx=` values blanked, for the free-text secret check.
fn blank_tx_values(text: &str) -> String {
    command::tokenize(text)
        .into_iter()
        .map(|t| match t.split_once('=') {
            Some((k, _)) if is_tx_key(&k.trim().to_lowercase()) => format!("{k}=_"),
            _ => t,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn secret_kind_key(k: secrets::SecretKind) -> &'static str {
    use secrets::SecretKind::*;
    match k {
        Mnemonic => "mnemonic",
        PrivateKeyHex => "private_key",
        Wif => "wif",
        ExtendedPrivateKey => "xprv",
        SolanaSecretKey => "solana_key",
        KeystoreJson => "keystore",
    }
}
