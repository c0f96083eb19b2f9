//! Every word a user reads: templates in `prompts/<locale>/<key>.txt`, embedded in the binary,
//! addressed by a typed key and rendered with minijinja (strict: a missing value is an error).

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::core::identity::Locale;

macro_rules! prompts {
    (keys: [$($variant:ident => $file:literal),* $(,)?], partials: [$($partial:literal),* $(,)?]) => {
        /// A template a user can receive.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum PromptKey { $($variant),* }

        impl PromptKey {
            pub const ALL: &'static [PromptKey] = &[$(PromptKey::$variant),*];
            pub fn name(self) -> &'static str {
                match self { $(PromptKey::$variant => $file),* }
            }
        }

        fn sources(locale: Locale) -> Vec<(&'static str, &'static str)> {
            match locale {
                Locale::En => vec![
                    $(($file, include_str!(concat!("../prompts/en/", $file, ".txt"))),)*
                    $(($partial, include_str!(concat!("../prompts/en/", $partial, ".txt"))),)*
                ],
                Locale::Zh => vec![
                    $(($file, include_str!(concat!("../prompts/zh/", $file, ".txt"))),)*
                    $(($partial, include_str!(concat!("../prompts/zh/", $partial, ".txt"))),)*
                ],
            }
        }
    };
}

prompts! {
    keys: [
        Welcome => "welcome",
        Help => "help",
        UnknownCommand => "unknown_command",
        TooLong => "too_long",
        NotUnderstood => "not_understood",
        Unavailable => "unavailable",
        InternalError => "internal_error",
        SecretRefused => "secret_refused",
        HexAmbiguous => "hex_ambiguous",
        CaseNotFound => "case_not_found",
        NoCases => "no_cases",
        WhichCase => "which_case",
        NotModerator => "not_moderator",
        CaseEnded => "case_ended",
        Usage => "usage",
        BadValue => "bad_value",
        EvidenceError => "evidence_error",
        IntakeQuestion => "intake_question",
        IntakeEvidenceAdded => "intake_evidence_added",
        IntakeCancelled => "intake_cancelled",
        ReportCreated => "report_created",
        Contacted => "contacted",
        Replied => "replied",
        Unresolved => "unresolved",
        Ended => "ended",
        Status => "status",
        LocaleSet => "locale_set",
        StepReminder => "step_reminder",
        StepPublicPost => "step_public_post",
        PublicPost => "public_post",
        StepComplaint => "step_complaint",
        StepAuthorities => "step_authorities",
        StepFreezeRequest => "step_freeze_request",
        EvidenceList => "evidence_list",
        EvidenceDone => "evidence_done",
        WhichChain => "which_chain",
        ScamWarning => "scam_warning",
        AuthorityList => "authority_list",
        EventLine => "event_line",
        Export => "export",
        DossierMarkdown => "dossier_md",
        DossierHtml => "dossier_html",
        ModNotice => "mod_notice",
        Queue => "queue",
        Timeline => "timeline",
        ModDone => "mod_done",
        VictimUpdate => "victim_update",
        Button => "button",
        CommandMenu => "command_menu",
        ModCard => "mod_card",
        GoPrivate => "go_private",
        Offer => "offer",
        Start => "start",
        ButtonStale => "button_stale",
        ConsoleAs => "console_as",
        ConsoleWaited => "console_waited",
        ConsoleDeleted => "console_deleted",
        FlagThanks => "flag_thanks",
        ClusterNotice => "cluster_notice",
        ClusterVictim => "cluster_victim",
        Consent => "consent",
        Clusters => "clusters",
        Unlinked => "unlinked",
        Joint => "joint",
        JointLetter => "joint_letter",
        JointReport => "joint_report",
        JointVictim => "joint_victim",
        Stats => "stats",
        StatsPost => "stats_post",
        StatsNotice => "stats_notice",
    ],
    partials: [
        "_macros",
        "_checklist",
        "_recovery_warning",
        "_first_contact",
        "_follow_up",
        "_social_post",
        "_complaint_letter",
        "_authority_report",
        "_case_summary",
        "_joint_cases",
        "_freeze_request",
    ]
}

#[derive(Debug, thiserror::Error)]
#[error("template {key}/{locale} failed: {source}")]
pub struct PromptError {
    key: &'static str,
    locale: &'static str,
    #[source]
    source: minijinja::Error,
}

/// Renders templates for both locales.
pub struct Prompts {
    en: Environment<'static>,
    zh: Environment<'static>,
}

impl Prompts {
    pub fn new() -> Result<Prompts, minijinja::Error> {
        Ok(Prompts {
            en: environment(Locale::En)?,
            zh: environment(Locale::Zh)?,
        })
    }

    pub fn render<C: Serialize>(
        &self,
        locale: Locale,
        key: PromptKey,
        ctx: &C,
    ) -> Result<String, PromptError> {
        let env = match locale {
            Locale::En => &self.en,
            Locale::Zh => &self.zh,
        };
        let err = |source| PromptError {
            key: key.name(),
            locale: locale.key(),
            source,
        };
        let text = env
            .get_template(key.name())
            .and_then(|t| t.render(ctx))
            .map_err(err)?;
        Ok(tidy(&text))
    }
}

fn environment(locale: Locale) -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    // Partials end with a newline that must survive `{% include %}`.
    env.set_keep_trailing_newline(true);
    // HTML documents escape every value (case facts and notes come from users).
    env.set_auto_escape_callback(|name| {
        if name.ends_with("_html") {
            minijinja::AutoEscape::Html
        } else {
            minijinja::AutoEscape::None
        }
    });
    for (name, source) in sources(locale) {
        env.add_template(name, source)?;
    }
    Ok(env)
}

/// Drops trailing spaces and runs of blank lines that conditional blocks leave behind.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_end().to_string()
}
