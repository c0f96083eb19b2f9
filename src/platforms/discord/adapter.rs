//! What the Discord adapter does with one interaction: acknowledge it within Discord's three
//! seconds (a deferral, ephemeral where the answer is private), translate it, hand it to the
//! engine, and send the engine's answers on the interaction's token: follow-ups (ephemeral
//! when private), the pressed message replaced in place. An answer that cannot be sent so goes
//! to the outbox, which sends it to the person's DM. Every decision is the core's.

use std::sync::{Arc, OnceLock};

use serde_json::json;
use serenity::all::{
    ActionRowComponent, CommandInteraction, ComponentInteraction, Message, MessageFlags,
    ModalInteraction,
};

use crate::config::DiscordSettings;
use crate::core::case::CaseId;
use crate::core::command::Command;
use crate::core::engine::{Engine, Handled};
use crate::core::identity::{ChatRef, MessageRef};
use crate::core::message::{Incoming, Input, Op, Outgoing, Place, Recipient, Target};
use crate::core::ports::{OutboxItem, Store};
use crate::delivery::{SendError, Sink};
use crate::platforms::discord::inbound::{self, Moderators};
use crate::platforms::discord::sink::{self, DiscordSink};
use crate::store::SqlStore;

/// Discord's interaction response types the adapter uses.
const DEFERRED_MESSAGE: u64 = 5;
const DEFERRED_UPDATE: u64 = 6;
/// How long case suggestions may take (Discord drops an autocomplete answered after 3 s).
const SUGGEST_WITHIN: std::time::Duration = std::time::Duration::from_millis(2000);

/// Everything the adapter's handlers share (poise's user data).
pub struct Shared {
    pub engine: Engine<SqlStore>,
    pub store: SqlStore,
    pub sink: DiscordSink,
    pub moderators: Moderators,
    pub moderator_channel: Option<u64>,
    /// Members with this role writing in a case thread are support staff answering.
    pub support_role: Option<u64>,
    /// The application's ID (from READY): follow-ups go to its webhook.
    pub application: OnceLock<u64>,
}

/// A modal (Discord's `type` 9 response) and the report form's `custom_id`.
const MODAL: u64 = 9;
const FORM: &str = "recourse:report-form";

/// Who used an interaction, where: what a command and a form have in common.
struct From<'a> {
    id: u64,
    token: &'a str,
    guild: Option<serenity::all::GuildId>,
    channel: u64,
    user: &'a serenity::all::User,
    member: Option<&'a serenity::all::Member>,
    locale: &'a str,
}

/// The interaction in hand: what its answers need.
struct Token<'a> {
    id: u64,
    token: &'a str,
}

impl Shared {
    pub fn new(
        settings: &DiscordSettings,
        engine: Engine<SqlStore>,
        store: SqlStore,
        sink: DiscordSink,
    ) -> Arc<Shared> {
        Arc::new(Shared {
            engine,
            store,
            sink,
            moderators: Moderators {
                guild: settings.guild,
                role: settings.moderator_role,
            },
            moderator_channel: settings.moderator_channel,
            support_role: settings.support_role,
            application: OnceLock::new(),
        })
    }

    fn application(&self) -> u64 {
        self.application.get().copied().unwrap_or_default()
    }

    /// A slash command (or its options already read into `input`): deferred ephemerally at
    /// once, then handled as in a private chat.
    pub async fn command(&self, i: &CommandInteraction, input: Input) {
        self.command_on(i, input, None).await;
    }

    /// "Report to moderators" on a message: the core hears who flagged what, with its link.
    pub async fn flag(&self, i: &CommandInteraction, m: &Message) {
        let author = m
            .author
            .global_name
            .clone()
            .unwrap_or_else(|| m.author.name.clone());
        let link = i.guild_id.map(|g| {
            format!(
                "https://discord.com/channels/{}/{}/{}",
                g.get(),
                m.channel_id.get(),
                m.id.get()
            )
        });
        let input = Input::Command(crate::core::command::Command::Flag {
            author,
            text: m.content.clone(),
        });
        self.command_on(i, input, link).await;
    }

    async fn command_on(&self, i: &CommandInteraction, input: Input, link: Option<String>) {
        let from = From {
            id: i.id.get(),
            token: &i.token,
            guild: i.guild_id,
            channel: i.channel_id.get(),
            user: &i.user,
            member: i.member.as_deref(),
            locale: &i.locale,
        };
        self.ask(&from, input, link).await;
    }

    /// `/report` alone: the form (a modal, which must be the first response). What it cannot
    /// hold (how it happened, the country, the language) the intake asks next, with buttons.
    pub async fn report_form(&self, i: &CommandInteraction) {
        self.open_form(i.id.get(), &i.token, &i.locale).await;
    }

    async fn open_form(&self, id: u64, token: &str, locale: &str) {
        let svc = self.engine.services();
        let locale = inbound::locale_hint(locale).unwrap_or(svc.default_locale);
        let word = |k: &str| {
            crate::platforms::text::truncate(
                &crate::core::buttons::label(svc, locale, k, &minijinja::context! {}),
                45,
            )
        };
        let field = |id: &str, key: &str, style: u64, max: u64| {
            json!({ "type": 1, "components": [{
                "type": 4, "custom_id": id, "label": word(key), "style": style,
                "required": false, "max_length": max,
            }]})
        };
        let body = json!({ "type": MODAL, "data": {
            "custom_id": FORM,
            "title": word("form_title"),
            "components": [
                field("wallet", "form_wallet", 1, 200),
                field("chain_amount", "form_chain_amount", 1, 200),
                field("evidence", "form_evidence", 2, 1000),
                field("noticed", "form_noticed", 1, 100),
                field("contacted", "form_contacted", 1, 300),
            ],
        }});
        if let Err(e) = self.sink.interaction_callback(id, token, body).await {
            tracing::warn!(error = %e, "could not open the report form");
        }
    }

    /// The report form submitted: its text fields to the core, which files what it can and
    /// asks the rest.
    pub async fn form_submitted(&self, m: &ModalInteraction) {
        if m.data.custom_id != FORM {
            return;
        }
        let mut values: Vec<(String, String)> = Vec::new();
        for row in &m.data.components {
            for c in &row.components {
                if let ActionRowComponent::InputText(t) = c {
                    values.push((t.custom_id.clone(), t.value.clone().unwrap_or_default()));
                }
            }
        }
        let take = |k: &str| {
            values
                .iter()
                .find(|(id, _)| id == k)
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default()
        };
        let fields = ["wallet", "noticed", "contacted"]
            .into_iter()
            .filter_map(|k| {
                let v = take(k);
                let f = crate::core::command::ReportField::parse(k)?;
                (!v.is_empty()).then_some((f, v))
            })
            .collect();
        let input = Input::Command(Command::ReportForm {
            fields,
            chain_amount: take("chain_amount"),
            evidence: take("evidence"),
        });
        let from = From {
            id: m.id.get(),
            token: &m.token,
            guild: m.guild_id,
            channel: m.channel_id.get(),
            user: &m.user,
            member: m.member.as_ref(),
            locale: &m.locale,
        };
        self.ask(&from, input, None).await;
    }

    /// A command or a form: deferred ephemerally at once, then handled as in a private chat.
    async fn ask(&self, i: &From<'_>, input: Input, link: Option<String>) {
        let t = Token {
            id: i.id,
            token: i.token,
        };
        if !self.defer(&t, DEFERRED_MESSAGE, true).await {
            return;
        }
        let moderator = self.moderators.is_moderator(i.guild, i.member);
        let Some(chat) = self
            .private_chat(i.guild.is_none(), i.channel, i.user.id.get())
            .await
        else {
            self.say_unavailable(&t, &inbound::actor(i.user, moderator), i.locale)
                .await;
            return;
        };
        let incoming = Incoming {
            actor: inbound::actor(i.user, moderator),
            chat,
            place: Place::Private,
            input,
            id: Some(format!("discord:{}", i.id)),
            message: None,
            link,
            locale_hint: inbound::locale_hint(i.locale),
        };
        let report = matches!(
            incoming.input,
            Input::Command(Command::Report(_) | Command::ReportForm { .. })
        );
        let handled = self.handle(&t, &incoming, None).await;
        // A case reported from a server channel gets its thread there (unless a case channel
        // is configured).
        if report
            && i.guild.is_some()
            && let Some(h) = handled
            && let Some(case) = h.out.iter().find_map(|o| o.case_id.clone())
            && let Err(e) = self
                .store
                .put_setting(&sink::origin_key(&case), &i.channel.to_string())
                .await
        {
            tracing::info!(error = %e, "could not note where a case was reported; its thread opens in the case channel or DMs");
        }
    }

    /// A button: the press is acknowledged at once (the message stays as it is until the
    /// answer replaces it), then handled where the message is: the moderators' channel, or
    /// privately (an ephemeral answer, a DM), or a community channel.
    pub async fn press(&self, c: &ComponentInteraction) {
        // "Report privately": Discord has no link into a command; the form opens instead.
        if c.data.custom_id == crate::platforms::discord::render::REPORT_BUTTON {
            self.open_form(c.id.get(), &c.token, &c.locale).await;
            return;
        }
        let t = Token {
            id: c.id.get(),
            token: &c.token,
        };
        if !self.defer(&t, DEFERRED_UPDATE, false).await {
            return;
        }
        let channel = c.channel_id.get();
        let moderator = self.moderators.is_moderator(c.guild_id, c.member.as_ref());
        let ephemeral = c
            .message
            .flags
            .is_some_and(|f| f.contains(MessageFlags::EPHEMERAL));
        let (place, chat) = if Some(channel) == self.moderator_channel {
            (Place::Moderators, Some(ChatRef::Discord { channel }))
        } else if ephemeral || c.guild_id.is_none() {
            let chat = self
                .private_chat(c.guild_id.is_none(), channel, c.user.id.get())
                .await;
            (Place::Private, chat)
        } else {
            (Place::Community, Some(ChatRef::Discord { channel }))
        };
        let Some(chat) = chat else {
            self.say_unavailable(&t, &inbound::actor(&c.user, moderator), &c.locale)
                .await;
            return;
        };
        let pressed = MessageRef::Discord {
            channel,
            message: c.message.id.get(),
        };
        let incoming = Incoming {
            actor: inbound::actor(&c.user, moderator),
            chat,
            place,
            input: Input::Press(c.data.custom_id.clone()),
            id: Some(format!("discord:{}", c.id.get())),
            message: Some(pressed.clone()),
            link: c.guild_id.map(|g| {
                format!(
                    "https://discord.com/channels/{}/{channel}/{}",
                    g.get(),
                    c.message.id.get()
                )
            }),
            locale_hint: inbound::locale_hint(&c.locale),
        };
        self.handle(&t, &incoming, Some(&pressed)).await;
    }

    /// A message the bot can read: in a DM, an answer to the intake or a typed command; in a
    /// server channel, screened by the core (a secret is deleted and its poster warned in
    /// private; a recovery offer goes to the moderators). Answers go through the sink, in
    /// the same channel.
    pub async fn message(&self, m: &Message) {
        if m.author.bot || m.content.trim().is_empty() {
            return;
        }
        let channel = m.channel_id.get();
        let roles = m.member.as_ref().map(|p| &p.roles[..]).unwrap_or_default();
        let moderator = self.moderators.has_role(m.guild_id, roles);
        let support = m.guild_id.is_some()
            && self
                .support_role
                .is_some_and(|r| roles.contains(&serenity::all::RoleId::new(r)));
        // Support staff writing in a case's thread answer the victim: the core hears it as
        // such (and screens it like any text first).
        let case = if support {
            self.thread_case(channel).await
        } else {
            None
        };
        let mut place = if m.guild_id.is_none() {
            Place::Private
        } else if Some(channel) == self.moderator_channel {
            Place::Moderators
        } else {
            Place::Community
        };
        let input = match case {
            Some(case)
                if crate::core::secrets::assess(
                    &m.content,
                    crate::core::secrets::Field::FreeText,
                ) == crate::core::secrets::Assessment::Clean =>
            {
                // The thread is private: the answer goes there.
                place = Place::Private;
                Input::Command(Command::SupportReply {
                    case,
                    text: m.content.clone(),
                })
            }
            _ => Input::Text(m.content.clone()),
        };
        let here = MessageRef::Discord {
            channel,
            message: m.id.get(),
        };
        let incoming = Incoming {
            actor: inbound::actor(&m.author, moderator),
            chat: ChatRef::Discord { channel },
            place,
            input,
            id: Some(format!("discord:message:{}", m.id.get())),
            message: Some(here.clone()),
            link: m.guild_id.map(|g| {
                format!(
                    "https://discord.com/channels/{}/{channel}/{}",
                    g.get(),
                    m.id.get()
                )
            }),
            locale_hint: None,
        };
        let h = match self.engine.handle(&incoming).await {
            Ok(h) => h,
            Err(e) => {
                // Only in private: a community channel does not hear about the database.
                if incoming.private() {
                    let mut o = Outgoing::fresh(
                        None,
                        Recipient::Chat {
                            chat: incoming.chat.clone(),
                        },
                        self.engine.error_text(&e, &incoming),
                    );
                    o.meta.reply_to = Some(here);
                    if let Err(e) = self.sink.send(&OutboxItem::answer(&o)).await {
                        tracing::info!(error = %e, "could not tell the user about a failure");
                    }
                }
                return;
            }
        };
        if h.duplicate {
            return;
        }
        if h.delete_original
            && let Err(e) = self.sink.delete_message(channel, m.id.get()).await
        {
            let error = e.to_string();
            tracing::warn!(error = %error, "could not delete a message holding a secret; asking the moderators");
            if let Err(e) = self.engine.delete_failed(&incoming, &error).await {
                tracing::error!(error = %e, "could not ask the moderators to delete a message holding a secret");
            }
        }
        for a in h.answers() {
            let sent = self.sink.send(&OutboxItem::answer(a)).await;
            self.record(&a.key, sent).await;
        }
    }

    /// The case a thread is for, if it is a case thread.
    async fn thread_case(&self, channel: u64) -> Option<CaseId> {
        match self
            .store
            .get_setting(&sink::thread_case_key(channel))
            .await
        {
            Ok(v) => v.as_deref().and_then(CaseId::parse),
            Err(e) => {
                tracing::info!(error = %e, "cannot tell whether a channel is a case thread");
                None
            }
        }
    }

    async fn record(&self, key: &str, sent: Result<Option<MessageRef>, SendError>) {
        let recorded = match sent {
            Ok(r) => self.engine.answered(key, Ok(r)).await,
            Err(SendError::RetryAfter { after, reason }) => {
                self.engine.unanswered(key, &reason, Some(after)).await
            }
            Err(e) => self.engine.unanswered(key, &e.to_string(), None).await,
        };
        if let Err(e) = recorded {
            tracing::warn!(error = %e, key = %key, "could not record an answer; the outbox may send it again");
        }
    }

    /// The person's private conversation with the bot: the DM they used, or the DM channel
    /// opened for them. `None` when Discord would not open it (then nothing is handled).
    async fn private_chat(&self, in_dm: bool, channel: u64, user: u64) -> Option<ChatRef> {
        if in_dm {
            return Some(ChatRef::Discord { channel });
        }
        match self.sink.dm_channel(user).await {
            Ok(channel) => Some(ChatRef::Discord { channel }),
            Err(e) => {
                tracing::warn!(error = %e, "cannot open a DM channel for an interaction's answers");
                None
            }
        }
    }

    /// The interaction's first response; `false` if Discord did not take it (the token is
    /// dead or Discord is away: nothing more can be said on it).
    async fn defer(&self, t: &Token<'_>, kind: u64, ephemeral: bool) -> bool {
        let mut body = json!({ "type": kind });
        if ephemeral {
            body["data"] = json!({ "flags": crate::platforms::discord::render::EPHEMERAL });
        }
        match self.sink.interaction_callback(t.id, t.token, body).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "could not acknowledge an interaction; it is dropped");
                false
            }
        }
    }

    async fn handle(
        &self,
        t: &Token<'_>,
        msg: &Incoming,
        pressed: Option<&MessageRef>,
    ) -> Option<Handled> {
        match self.engine.handle(msg).await {
            Ok(h) => {
                self.carry_out(t, msg, &h, pressed).await;
                Some(h)
            }
            Err(e) => {
                let text = self.engine.error_text(&e, msg);
                self.say(t, text).await;
                None
            }
        }
    }

    /// Sends the engine's answers on the interaction: a notice or a private answer as an
    /// ephemeral follow-up, a replacement of the pressed message in place, and anything meant
    /// for the channel (a moderator's answer in the moderators' channel) through the sink.
    async fn carry_out(
        &self,
        t: &Token<'_>,
        msg: &Incoming,
        h: &Handled,
        pressed: Option<&MessageRef>,
    ) {
        if h.duplicate {
            return;
        }
        for a in h.answers() {
            let mut item = OutboxItem::answer(a);
            let edits_pressed = matches!(
                &a.meta.op,
                Op::Edit { target: Target::Message { message } } if Some(message) == pressed
            );
            let sent = if edits_pressed {
                self.sink
                    .edit_original(self.application(), t.token, &item)
                    .await
                    .map(|()| pressed.cloned())
            } else if a.meta.notice.is_some() || a.meta.private || msg.private() {
                item.meta.private = true;
                self.sink.followup(self.application(), t.token, &item).await
            } else {
                self.sink.send(&item).await
            };
            self.record(&a.key, sent).await;
        }
    }

    /// Plain words for a failure, ephemerally on the interaction.
    async fn say(&self, t: &Token<'_>, text: String) {
        let mut o = Outgoing::fresh(
            None,
            Recipient::Chat {
                chat: ChatRef::Discord { channel: 0 },
            },
            text,
        );
        o.meta.private = true;
        if let Err(e) = self
            .sink
            .followup(self.application(), t.token, &OutboxItem::answer(&o))
            .await
        {
            tracing::info!(error = %e, "could not tell the user about a failure");
        }
    }

    async fn say_unavailable(
        &self,
        t: &Token<'_>,
        actor: &crate::core::identity::Actor,
        locale: &str,
    ) {
        let msg = Incoming {
            actor: actor.clone(),
            chat: ChatRef::Discord { channel: 0 },
            place: Place::Private,
            input: Input::Text(String::new()),
            id: None,
            message: None,
            link: None,
            locale_hint: inbound::locale_hint(locale),
        };
        let err = crate::core::engine::EngineError::Unavailable(
            "Discord did not open a DM channel".to_string(),
        );
        let text = self.engine.error_text(&err, &msg);
        self.say(t, text).await;
    }

    /// The moderators' commands are suggested only to moderators; a victim's, their open
    /// cases. Both: ID and a few words to recognise it, at most 25 (Discord's limit).
    pub async fn case_choices(
        &self,
        user: u64,
        moderator: bool,
        typed: &str,
    ) -> Vec<(String, String)> {
        let found = async {
            if moderator {
                self.store.queue(25).await
            } else {
                self.store
                    .cases_of(&crate::core::identity::UserRef::Discord(user))
                    .await
            }
        };
        // Discord waits three seconds for suggestions: a slow database gets none, not a
        // late answer Discord would refuse.
        let cases = match tokio::time::timeout(SUGGEST_WITHIN, found).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                tracing::info!(error = %e, "no case suggestions: the database did not answer");
                return Vec::new();
            }
            Err(_) => {
                tracing::info!("no case suggestions: the database was too slow");
                return Vec::new();
            }
        };
        let typed = typed.trim().to_uppercase();
        cases
            .into_iter()
            .filter(|sc| sc.case.is_open())
            .filter(|sc| sc.case.id.to_string().contains(&typed))
            .take(25)
            .map(|sc| {
                let c = &sc.case;
                let what = [
                    c.report.wallet.clone(),
                    c.report.amount.clone(),
                    c.report.chain.map(|ch| ch.display_name().to_string()),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · ");
                let name = crate::platforms::text::truncate(format!("{} {what}", c.id).trim(), 100);
                (name, c.id.to_string())
            })
            .collect()
    }
}
