//! The terminal front end: a chat with the bot on stdin/stdout, with `/as` to switch who is
//! typing and `/wait` to move the clock, so the whole ladder can be watched in a minute.

use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use minijinja::context;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Mutex;

use crate::core::case::CaseId;
use crate::core::clock::{Clock, ManualClock};
use crate::core::engine::Engine;
use crate::core::identity::{Actor, ChatRef, Locale, MessageRef, UserRef};
use crate::core::message::{Button, Does, Incoming, Input, Op, Place, Recipient};
use crate::core::ports::{OutboxItem, Store};
use crate::delivery::{Delivery, SendError, Sink};
use crate::prompts::PromptKey;
use crate::scheduler::Scheduler;
use crate::webhook::Router;

const OFFSET_KEY: &str = "console/clock_offset_ms";

/// Prints outgoing messages, labelled by where they would go on a real platform.
pub struct ConsoleSink<W> {
    out: Arc<Mutex<W>>,
    /// Where files sent with messages (dossiers) are written.
    files: std::path::PathBuf,
    /// The case most recently mentioned, for `@last` in scripts.
    last_case: Arc<std::sync::Mutex<Option<CaseId>>>,
    /// The tokens of the buttons last printed, for `/press <n>`.
    last_buttons: Arc<std::sync::Mutex<Vec<String>>>,
    /// Numbers the printed messages, as their references.
    printed: Arc<std::sync::atomic::AtomicU64>,
}

impl<W> ConsoleSink<W> {
    /// Writes attached files into `dir` instead of `./exports`.
    pub fn with_files_in(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.files = dir.into();
        self
    }

    pub fn new(out: Arc<Mutex<W>>) -> Self {
        ConsoleSink {
            out,
            files: std::path::PathBuf::from("exports"),
            last_case: Arc::default(),
            last_buttons: Arc::default(),
            printed: Arc::default(),
        }
    }
}

fn label(to: &Recipient) -> String {
    match to {
        Recipient::Chat {
            chat: ChatRef::ConsoleChannel,
        } => "recourse → #community".to_string(),
        Recipient::Chat { .. } => "recourse".to_string(),
        Recipient::User { user } => format!("recourse → {} (private)", user.local_id()),
        Recipient::Moderators { .. } => "recourse → #moderators".to_string(),
        Recipient::Public { .. } => "recourse → #public".to_string(),
        Recipient::Webhook => "recourse → webhook".to_string(),
    }
}

impl<W: AsyncWrite + Unpin + Send> Sink for ConsoleSink<W> {
    async fn send(&self, item: &OutboxItem) -> Result<Option<MessageRef>, SendError> {
        if let Some(id) = &item.case_id {
            *self
                .last_case
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(id.clone());
        }
        let line = self
            .printed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        let reference = Some(MessageRef::Console { line });
        let how = match item.meta.op {
            Op::Send => "",
            Op::Edit { .. } => " (post updated)",
            Op::Delete { .. } => " (message deleted)",
        };
        let mut text = format!("{}{how}:\n", label(&item.to));
        if let Some(a) = &item.attachment {
            // The file name is ours (`recourse-<case id>.<ext>`), never user text.
            let path = self.files.join(&a.filename);
            let written = async {
                tokio::fs::create_dir_all(&self.files).await?;
                tokio::fs::write(&path, a.content.as_bytes()).await
            };
            written.await.map_err(|e| SendError::Retry(e.to_string()))?;
            text.push_str(&format!("  [file saved: {}]\n\n", path.display()));
            let mut out = self.out.lock().await;
            out.write_all(text.as_bytes())
                .await
                .map_err(|e| SendError::Retry(e.to_string()))?;
            return Ok(reference);
        }
        for line in item.text.lines() {
            text.push_str("  ");
            text.push_str(line);
            text.push('\n');
        }
        if !item.meta.buttons.is_empty() {
            text.push_str(&self.buttons(&item.meta.buttons));
        }
        text.push('\n');
        let mut out = self.out.lock().await;
        out.write_all(text.as_bytes())
            .await
            .map_err(|e| SendError::Retry(e.to_string()))?;
        out.flush()
            .await
            .map_err(|e| SendError::Retry(e.to_string()))?;
        Ok(reference)
    }
}

impl<W> ConsoleSink<W> {
    /// Buttons as a numbered line: `/press <n>` presses one; a link is shown as what it opens.
    fn buttons(&self, buttons: &[Button]) -> String {
        let mut tokens = self
            .last_buttons
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        tokens.clear();
        let mut line = String::from("  ");
        for b in buttons {
            match &b.does {
                Does::Press { token } => {
                    tokens.push(token.clone());
                    line.push_str(&format!("[{} {}] ", tokens.len(), b.label));
                }
                Does::OpenPrivateReport | Does::OpenPrivate => {
                    line.push_str(&format!("[{} → private chat] ", b.label));
                }
                Does::Link { url } => line.push_str(&format!("[{} → {url}] ", b.label)),
            }
        }
        format!("{}\n", line.trim_end())
    }

    /// The token of button `n` of the buttons last printed.
    pub fn button(&self, n: usize) -> Option<String> {
        let tokens = self
            .last_buttons
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        n.checked_sub(1).and_then(|i| tokens.get(i).cloned())
    }
}

pub struct Console<S: Store, W: AsyncWrite + Unpin + Send> {
    pub engine: Engine<S>,
    pub scheduler: Scheduler<S>,
    pub delivery: Delivery<S, Router<ConsoleSink<W>>>,
    pub store: S,
    pub clock: ManualClock,
    pub out: Arc<Mutex<W>>,
    actor: Actor,
}

/// The clock the console runs on: real time plus the offset earlier `/wait`s left behind.
pub async fn console_clock<S: Store>(store: &S) -> anyhow::Result<ManualClock> {
    let offset = store
        .get_setting(OFFSET_KEY)
        .await
        .context("failed to read the console clock")?
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    Ok(ManualClock::offset(chrono::Duration::milliseconds(offset)))
}

impl<S: Store, W: AsyncWrite + Unpin + Send> Console<S, W> {
    pub fn new(
        engine: Engine<S>,
        scheduler: Scheduler<S>,
        delivery: Delivery<S, Router<ConsoleSink<W>>>,
        store: S,
        clock: ManualClock,
        out: Arc<Mutex<W>>,
    ) -> Self {
        Console {
            engine,
            scheduler,
            delivery,
            store,
            clock,
            out,
            actor: Actor {
                user: UserRef::Console("you".to_string()),
                name: "you".to_string(),
                moderator: false,
            },
        }
    }

    async fn print(&self, text: &str) -> anyhow::Result<()> {
        let mut out = self.out.lock().await;
        out.write_all(text.as_bytes()).await?;
        out.flush().await?;
        Ok(())
    }

    fn render(&self, key: PromptKey, ctx: minijinja::Value) -> String {
        let svc = self.engine.services();
        svc.prompts
            .render(svc.default_locale, key, &ctx)
            .unwrap_or_else(|e| format!("({e})"))
    }

    /// Reads lines until end of input or `/quit`. `echo` prints each line (script mode).
    pub async fn run<R: AsyncBufRead + Unpin>(
        &mut self,
        input: R,
        echo: bool,
    ) -> anyhow::Result<()> {
        let welcome = self.render(PromptKey::Welcome, context! {});
        self.print(&format!("{welcome}\n\n")).await?;
        self.catch_up().await;
        let mut lines = input.lines();
        loop {
            if !echo {
                self.print(&format!("{}> ", self.actor.name)).await?;
            }
            let Some(line) = lines.next_line().await? else {
                break;
            };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if echo {
                let shown: String = line.chars().take(120).collect();
                let shown = crate::core::secrets::redact(&shown);
                self.print(&format!("{}> {shown}\n", self.actor.name))
                    .await?;
            }
            if matches!(line, "/quit" | "/exit") {
                break;
            }
            self.line(line).await?;
        }
        Ok(())
    }

    /// Handles one typed line.
    pub async fn line(&mut self, line: &str) -> anyhow::Result<()> {
        let last = self
            .delivery
            .sink()
            .inner()
            .last_case
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let line = match last {
            Some(id) if line.contains("@last") => line.replace("@last", &id.to_string()),
            _ => line.to_string(),
        };
        let line = line.as_str();
        let (word, rest) = crate::core::command::split_first(line);
        match word {
            "/as" => self.switch_user(rest).await,
            "/wait" => self.wait(rest).await,
            "/channel" => self.channel(rest).await,
            "/press" => {
                let token = rest
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| self.delivery.sink().inner().button(n));
                let Some(token) = token else {
                    let text = self.render(PromptKey::Usage, context! { command => "press" });
                    return self.print(&format!("recourse:\n  {text}\n\n")).await;
                };
                self.input(ChatRef::Console, Place::Private, Input::Press(token))
                    .await
            }
            _ => {
                self.input(
                    ChatRef::Console,
                    Place::Private,
                    Input::Text(line.to_string()),
                )
                .await
            }
        }
    }

    /// Hands one input to the engine, prints its answers at once (the console's "in place"),
    /// then whatever else fell due.
    async fn input(&mut self, chat: ChatRef, place: Place, input: Input) -> anyhow::Result<()> {
        let msg = Incoming {
            actor: self.actor.clone(),
            chat,
            place,
            input,
            message: None,
            id: None,
            link: None,
            locale_hint: None,
        };
        match self.engine.handle(&msg).await {
            Ok(h) => {
                if h.delete_original {
                    let text = self.render(PromptKey::ConsoleDeleted, context! {});
                    self.print(&format!("recourse:\n  {text}\n\n")).await?;
                }
                for answer in h.answers() {
                    let item = OutboxItem {
                        id: 0,
                        key: answer.key.clone(),
                        case_id: answer.case_id.clone(),
                        to: answer.to.clone(),
                        text: answer.text.clone(),
                        attachment: answer.attachment.clone(),
                        meta: answer.meta.clone(),
                        attempts: 0,
                        target: None,
                    };
                    let sent = self.delivery.sink().send(&item).await;
                    let result = sent.map_err(|e| e.to_string());
                    if let Err(e) = self.engine.answered(&answer.key, result).await {
                        tracing::warn!(error = %e, "could not record an answer as sent");
                    }
                }
            }
            Err(e) => {
                let text = self.engine.error_text(&e, &msg);
                self.print(&format!("recourse:\n  {text}\n\n")).await?;
            }
        }
        self.catch_up().await;
        Ok(())
    }

    /// Posts into the community channel, as a platform would pass on a channel message.
    async fn channel(&mut self, text: &str) -> anyhow::Result<()> {
        self.input(
            ChatRef::ConsoleChannel,
            Place::Community,
            Input::Text(text.to_string()),
        )
        .await
    }

    async fn switch_user(&mut self, rest: &str) -> anyhow::Result<()> {
        let mut words = rest.split_whitespace();
        let Some(name) = words.next() else {
            let text = self.render(PromptKey::Usage, context! { command => "as" });
            return self.print(&format!("recourse:\n  {text}\n\n")).await;
        };
        let moderator = words.next().is_some_and(|w| w == "mod" || w == "moderator");
        self.actor = Actor {
            user: UserRef::Console(name.to_string()),
            name: name.to_string(),
            moderator,
        };
        let text = self.render(
            PromptKey::ConsoleAs,
            context! { name => name, moderator => moderator },
        );
        self.print(&format!("recourse:\n  {text}\n\n")).await
    }

    /// Moves the clock forward deadline by deadline, so each step happens at its own time.
    async fn wait(&mut self, rest: &str) -> anyhow::Result<()> {
        let Ok(by) = humantime::parse_duration(rest.trim()) else {
            let text = self.render(PromptKey::Usage, context! { command => "wait" });
            return self.print(&format!("recourse:\n  {text}\n\n")).await;
        };
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::days(3650));
        let target = self.clock.now() + by;
        let mut last = None;
        loop {
            match self.store.next_due_at().await {
                Ok(Some(at)) if at <= target && last == Some(at) => {
                    tracing::warn!(%at, "a deadline did not move after a pass; stopping the wait");
                    break;
                }
                Ok(Some(at)) if at <= target => {
                    last = Some(at);
                    self.clock.advance_to(at);
                    self.save_clock().await;
                    self.run_due(self.clock.now()).await;
                }
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read deadlines");
                    break;
                }
            }
        }
        self.clock.advance_to(target);
        self.save_clock().await;
        let now = crate::core::views::fmt_time(self.clock.now());
        let text = self.render(
            PromptKey::ConsoleWaited,
            context! { now => now, by => rest.trim() },
        );
        self.print(&format!("recourse:\n  {text}\n\n")).await
    }

    /// Keeps the shifted clock across runs, so a restarted console continues where it was.
    async fn save_clock(&self) {
        let offset = self.clock.current_offset().num_milliseconds().to_string();
        if let Err(e) = self.store.put_setting(OFFSET_KEY, &offset).await {
            tracing::warn!(error = %e, "could not save the console clock");
        }
    }

    async fn run_due(&self, now: DateTime<Utc>) {
        if let Err(e) = self.scheduler.run_once(now).await {
            tracing::warn!(error = %e, "scheduler pass failed");
        }
        if let Err(e) = self.delivery.run_once(now).await {
            tracing::warn!(error = %e, "delivery pass failed");
        }
    }

    /// Takes whatever fell due and prints whatever is waiting.
    pub async fn catch_up(&self) {
        self.run_due(self.clock.now()).await;
    }

    pub fn locale(&self) -> Locale {
        self.engine.services().default_locale
    }
}
