//! Screening every message before anything else sees it: secrets are refused (and, in a shared
//! channel, the message is to be deleted), and channel messages are checked for recovery scams.

use minijinja::context;

use crate::core::command::{self, Command, ParseError, Parsed, ReportField};
use crate::core::engine::{Ctx, Engine, EngineError, Outcome};
use crate::core::intake::{Intake, Question};
use crate::core::message::{Incoming, Outgoing, Recipient};
use crate::core::ports::Store;
use crate::core::secrets::{self, Assessment, Field};
use crate::prompts::PromptKey;

impl<S: Store> Engine<S> {
    /// Refuses secrets before anything else sees the text. A 64-hex value is a transaction
    /// hash only where one was asked for: the evidence question or a `tx=` field.
    pub(crate) fn screen(
        &self,
        cx: &Ctx<'_>,
        text: &str,
        parsed: &Result<Parsed, ParseError>,
        intake: Option<&Intake>,
    ) -> Result<Option<Outcome>, EngineError> {
        let mut verdicts = Vec::new();
        match parsed {
            Ok(Parsed::Command(Command::Report(pairs))) => {
                for (k, v) in pairs {
                    let field = if *k == ReportField::Tx {
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
        self.refuse_secrets(
            cx,
            verdicts,
            matches!(parsed, Ok(Parsed::Text)) && intake.is_none(),
        )
    }

    /// The same screen for a command the platform structured (Discord's options): each value
    /// is judged by the field it was given in, so a hash is a hash only where one was asked.
    pub(crate) fn screen_command(
        &self,
        cx: &Ctx<'_>,
        cmd: &Command,
    ) -> Result<Option<Outcome>, EngineError> {
        let free = |t: &str| secrets::assess(t, Field::FreeText);
        let verdicts: Vec<Assessment> = match cmd {
            Command::ReportForm {
                fields,
                chain_amount,
                evidence,
            } => fields
                .iter()
                .map(|(_, v)| free(v))
                .chain([free(chain_amount), secrets::assess(evidence, Field::TxHash)])
                .collect(),
            Command::Report(pairs) => pairs
                .iter()
                .map(|(k, v)| match k {
                    ReportField::Tx => secrets::assess(v, Field::TxHash),
                    _ => free(v),
                })
                .collect(),
            Command::Evidence { action, args, .. } => {
                let field = match action {
                    command::EvidenceAction::Add => Field::TxHash,
                    _ => Field::FreeText,
                };
                vec![secrets::assess(&args.join(" "), field)]
            }
            Command::Contacted { rest, .. } | Command::Replied { rest, .. } => vec![free(rest)],
            Command::Note { text, .. } => vec![free(text)],
            Command::Hold { reason, .. }
            | Command::Reject { reason, .. }
            | Command::Close { reason, .. } => vec![free(reason)],
            Command::Export { tz: Some(t), .. } => vec![free(t)],
            Command::Authorities { country: Some(c) } => vec![free(c)],
            _ => Vec::new(),
        };
        self.refuse_secrets(cx, verdicts, false)
    }

    /// Refuses what the verdicts found. `chatter`: the text was plain talk, not a command.
    fn refuse_secrets(
        &self,
        cx: &Ctx<'_>,
        verdicts: Vec<Assessment>,
        chatter: bool,
    ) -> Result<Option<Outcome>, EngineError> {
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
        if kinds.is_empty() && !cx.msg.private() {
            // People share transaction hashes in community channels all the time: leave a
            // bare one alone there, store nothing, and refuse it only inside a command.
            return if chatter {
                Ok(Some(Outcome::default()))
            } else {
                Ok(Some(self.reply(
                    cx,
                    PromptKey::HexAmbiguous,
                    context! {},
                )?))
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
        if cx.msg.private() {
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
            let mut warning = self.to_chat(cx, public);
            // The message it would reply to is being deleted.
            warning.meta.reply_to = None;
            // For a sender who never started the private chat (the bot cannot write first).
            warning.meta.buttons = vec![crate::core::message::Button {
                label: crate::core::buttons::label(
                    &self.svc,
                    self.svc.public_locale,
                    "open_private",
                    &context! {},
                ),
                does: crate::core::message::Does::OpenPrivate,
            }];
            outcome.out.push(warning);
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
                .push(Outgoing::fresh(None, Recipient::MODERATORS, notice));
        }
        Ok(Some(outcome))
    }

    /// The adapter could not delete a message the engine said to delete (a secret seen in a
    /// shared channel): the moderators are asked to delete it by hand.
    pub async fn delete_failed(&self, msg: &Incoming, error: &str) -> Result<(), EngineError> {
        let notice = self.svc.render(
            self.svc.default_locale,
            PromptKey::ModNotice,
            &context! {
                what => "delete_failed",
                name => msg.actor.name,
                platform => msg.actor.user.platform().key(),
                link => msg.link,
                error => error,
            },
        )?;
        let now = self.clock.now();
        let out = crate::core::notices::for_moderators(
            &self.svc,
            crate::core::message::fresh_key(),
            None,
            notice,
            now,
        );
        self.store.enqueue(&out, now, &Default::default()).await?;
        self.wake_all();
        Ok(())
    }

    /// A member flagged a message: the moderators get who flagged whom, the link and a short
    /// excerpt with any secret in it redacted (and what the scam patterns make of it); the
    /// member gets a private thank-you.
    pub(crate) fn flag(
        &self,
        cx: &Ctx<'_>,
        author: &str,
        text: &str,
    ) -> Result<Outcome, EngineError> {
        let excerpt: String = text.chars().take(300).collect();
        let category = self.svc.scam.check(text).map(|m| m.category.key());
        let notice = self.svc.render(
            self.svc.default_locale,
            PromptKey::ModNotice,
            &context! {
                what => "member_flagged",
                name => cx.msg.actor.name,
                platform => cx.msg.actor.user.platform().key(),
                author => author,
                link => cx.msg.link,
                category => category,
                excerpt => crate::core::secrets::redact(&excerpt),
            },
        )?;
        let mut o = self.reply(cx, PromptKey::FlagThanks, context! {})?;
        o.out
            .push(Outgoing::fresh(None, Recipient::MODERATORS, notice));
        Ok(o)
    }

    /// A channel message offering "fund recovery", hacking or DMs: alert moderators with its
    /// link, and (as configured) warn in the channel and delete it.
    pub(crate) fn watch_channel(&self, cx: &Ctx<'_>) -> Result<Outcome, EngineError> {
        let Some(m) = self.svc.scam.check(cx.msg.text()) else {
            return Ok(Outcome::default());
        };
        tracing::info!(pattern = %m.pattern, user = ?cx.msg.actor.user, "recovery-scam message flagged");
        let settings = &self.svc.scam_policy;
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
                excerpt => crate::core::secrets::redact(&cx.msg.text().chars().take(200).collect::<String>()),
            },
        )?;
        outcome
            .out
            .push(Outgoing::fresh(None, Recipient::MODERATORS, notice));
        if settings.warn_in_channel {
            let warning = self.svc.render(
                self.svc.public_locale,
                PromptKey::ScamWarning,
                &context! { category => m.category.key(), deleted => settings.delete },
            )?;
            let mut warning = self.to_chat(cx, warning);
            if settings.delete {
                warning.meta.reply_to = None;
            }
            outcome.out.push(warning);
        }
        Ok(outcome)
    }
}

/// The `/report` text with `tx=` values blanked, for the free-text secret check.
fn blank_tx_values(text: &str) -> String {
    command::tokenize(text)
        .into_iter()
        .map(|t| match t.split_once('=') {
            Some((k, _)) if ReportField::parse(k) == Some(ReportField::Tx) => format!("{k}=_"),
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
