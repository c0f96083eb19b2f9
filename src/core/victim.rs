//! The reporter's commands: support contacts and replies, status, ending a case, the
//! authorities list and the dossier export.

use minijinja::context;

use crate::core::case::{CaseId, EventKind};
use crate::core::engine::{Ctx, Engine, EngineError, Outcome};
use crate::core::identity::Locale;
use crate::core::intake;
use crate::core::ports::Store;
use crate::prompts::PromptKey;

macro_rules! found {
    ($e:expr) => {
        match $e? {
            Ok(sc) => sc,
            Err(outcome) => return Ok(outcome),
        }
    };
}

impl<S: Store> Engine<S> {
    pub(crate) async fn contacted(
        &self,
        cx: &Ctx<'_>,
        case: Option<CaseId>,
        rest: String,
    ) -> Result<Outcome, EngineError> {
        let redo = |id: &CaseId| format!("/contacted {id} {rest}");
        let sc = found!(self.find_case(cx, case.as_ref(), &redo).await);
        if !sc.case.is_open() {
            return self.ended_reply(cx, &sc.case);
        }
        let was_running = sc.case.clock.since.is_some() && !sc.case.clock.assumed;
        let contact = intake::parse_contact_parts(&rest, cx.now);
        self.case_change(
            cx,
            sc,
            vec![EventKind::SupportContacted(contact)],
            PromptKey::Contacted,
            context! { follow_up => was_running },
        )
    }

    pub(crate) async fn replied(
        &self,
        cx: &Ctx<'_>,
        case: Option<CaseId>,
        rest: String,
    ) -> Result<Outcome, EngineError> {
        let redo = |id: &CaseId| format!("/replied {id} {rest}");
        let sc = found!(self.find_case(cx, case.as_ref(), &redo).await);
        if !sc.case.is_open() {
            return self.ended_reply(cx, &sc.case);
        }
        let summary = (!rest.is_empty()).then(|| rest.chars().take(500).collect());
        self.case_change(
            cx,
            sc,
            vec![EventKind::SupportReplied { summary }],
            PromptKey::Replied,
            context! {},
        )
    }

    /// Support staff answered in the case's own place (the adapter established who they are):
    /// the clock stops, the timeline records it, and the victim is told there. A closed or
    /// unknown case: nothing.
    pub(crate) async fn support_reply(
        &self,
        cx: &Ctx<'_>,
        case: &CaseId,
        text: String,
    ) -> Result<Outcome, EngineError> {
        let Some(sc) = self.store.load_case(case).await? else {
            return Ok(Outcome::default());
        };
        if !sc.case.is_open() {
            return Ok(Outcome::default());
        }
        let summary = Some(crate::core::secrets::redact(
            &text.chars().take(500).collect::<String>(),
        ));
        let locale = sc.case.locale;
        self.case_change(
            &Ctx { locale, ..*cx },
            sc,
            vec![EventKind::SupportReplied { summary }],
            PromptKey::Replied,
            context! { by_support => cx.msg.actor.name },
        )
    }

    pub(crate) async fn unresolved(
        &self,
        cx: &Ctx<'_>,
        case: Option<CaseId>,
    ) -> Result<Outcome, EngineError> {
        let redo = |id: &CaseId| format!("/unresolved {id}");
        let sc = found!(self.find_case(cx, case.as_ref(), &redo).await);
        if !sc.case.is_open() {
            return self.ended_reply(cx, &sc.case);
        }
        if sc.case.replies.is_empty() || sc.case.clock.since.is_some() {
            let ctx = self.case_ctx(cx, &sc.case, context! { no_reply => true });
            return self.reply(cx, PromptKey::Unresolved, ctx);
        }
        self.case_change(
            cx,
            sc,
            vec![EventKind::ReplyUnresolved],
            PromptKey::Unresolved,
            context! { no_reply => false },
        )
    }

    pub(crate) async fn status(
        &self,
        cx: &Ctx<'_>,
        case: Option<CaseId>,
    ) -> Result<Outcome, EngineError> {
        let cases = match case {
            Some(id) => vec![found!(
                self.find_case(cx, Some(&id), &|_| String::new()).await
            )],
            None => self.store.cases_of(&cx.msg.actor.user).await?,
        };
        if cases.is_empty() {
            return self.reply(cx, PromptKey::NoCases, context! {});
        }
        let views: Vec<_> = cases
            .iter()
            .map(|sc| self.svc.view(&sc.case, cx.locale, cx.now))
            .collect();
        self.reply(cx, PromptKey::Status, context! { cases => views })
    }

    pub(crate) async fn end_case(
        &self,
        cx: &Ctx<'_>,
        case: Option<CaseId>,
        kind: EventKind,
    ) -> Result<Outcome, EngineError> {
        let word = match kind {
            EventKind::Resolved => "resolve",
            _ => "withdraw",
        };
        let redo = |id: &CaseId| format!("/{word} {id}");
        let sc = found!(self.find_case(cx, case.as_ref(), &redo).await);
        if !sc.case.is_open() {
            return self.ended_reply(cx, &sc.case);
        }
        self.case_change(cx, sc, vec![kind], PromptKey::Ended, context! {})
    }

    pub(crate) async fn set_locale(
        &self,
        cx: &Ctx<'_>,
        case: Option<CaseId>,
        locale: Locale,
    ) -> Result<Outcome, EngineError> {
        let cx = Ctx { locale, ..*cx };
        // Without a case this sets the sender's language; with one, that case's too.
        let mut outcome = match case {
            None => self.reply(
                &cx,
                PromptKey::LocaleSet,
                context! { case => None::<String> },
            )?,
            Some(id) => {
                let sc = found!(self.find_case(&cx, Some(&id), &|_| String::new()).await);
                let id = sc.case.id.to_string();
                self.case_change(
                    &cx,
                    sc,
                    vec![EventKind::LocaleChanged { locale }],
                    PromptKey::LocaleSet,
                    context! { case => id },
                )?
            }
        };
        outcome.locale = Some(locale);
        Ok(outcome)
    }

    pub(crate) fn ended_reply(
        &self,
        cx: &Ctx<'_>,
        case: &crate::core::case::Case,
    ) -> Result<Outcome, EngineError> {
        let ctx = self.case_ctx(cx, case, context! {});
        self.reply(cx, PromptKey::CaseEnded, ctx)
    }
}

impl<S: Store> Engine<S> {
    /// `/authorities [country]`: the directory for a country (or the sender's case's country),
    /// police first; the international list when the country is unknown.
    pub(crate) async fn authorities(
        &self,
        cx: &Ctx<'_>,
        country: Option<String>,
    ) -> Result<Outcome, EngineError> {
        use crate::core::authorities::Country;
        let country = match country {
            Some(raw) => match Country::parse(&raw) {
                Some(c) => Some(c),
                None => {
                    return self.reply(
                        cx,
                        PromptKey::BadValue,
                        context! { field => "country", value => raw },
                    );
                }
            },
            None => self
                .store
                .cases_of(&cx.msg.actor.user)
                .await?
                .into_iter()
                .find_map(|sc| sc.case.report.country),
        };
        let list: Vec<_> = self
            .svc
            .authorities
            .for_country(country.as_ref())
            .into_iter()
            .map(|a| crate::core::steps::AuthorityView::new(a, cx.locale))
            .collect();
        let countries: Vec<String> = self
            .svc
            .authorities
            .countries()
            .iter()
            .map(|c| c.code().to_string())
            .collect();
        self.reply(
            cx,
            PromptKey::AuthorityList,
            context! {
                country => country.as_ref().map(|c| c.code().to_string()),
                authorities => list,
                countries => countries,
            },
        )
    }
}

impl<S: Store> Engine<S> {
    /// `/export [case] [time zone]`: the case dossier as Markdown and HTML files.
    pub(crate) async fn export(
        &self,
        cx: &Ctx<'_>,
        case: Option<CaseId>,
        tz: Option<String>,
    ) -> Result<Outcome, EngineError> {
        use crate::core::dossier;
        use crate::core::message::Attachment;
        let redo = |id: &CaseId| match &tz {
            Some(tz) => format!("/export {id} {tz}"),
            None => format!("/export {id}"),
        };
        let sc = found!(self.find_case(cx, case.as_ref(), &redo).await);
        let Ok(zone) = dossier::time_zone(tz.as_deref(), sc.case.report.country.as_ref()) else {
            return self.reply(
                cx,
                PromptKey::BadValue,
                context! { field => "timezone", value => tz.unwrap_or_default() },
            );
        };
        let id = sc.case.id.clone();
        let events = self.store.events(&id).await?;
        let messages = self.store.case_messages(&id).await?;
        let related = self.related(&sc.case).await?;
        let d = dossier::build(
            &self.svc,
            &sc.case,
            &events,
            &messages,
            zone,
            cx.locale,
            cx.now,
            related.as_ref(),
        )?;
        let ctx = self.case_ctx(cx, &sc.case, context! { tz => zone.map(|z| z.name()) });
        let mut outcome = self.reply(cx, PromptKey::Export, ctx)?;
        for (ext, content_type, content) in [
            ("md", "text/markdown; charset=utf-8", d.markdown),
            ("html", "text/html; charset=utf-8", d.html),
        ] {
            let filename = format!("recourse-{id}.{ext}");
            let mut file = self.to_chat(cx, filename.clone());
            file.case_id = Some(id.clone());
            file.meta.reply_to = None;
            file.attachment = Some(Attachment {
                filename,
                content_type: content_type.to_string(),
                content,
            });
            outcome.out.push(file);
        }
        Ok(outcome)
    }
}
