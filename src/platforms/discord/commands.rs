//! The slash commands, declared for poise: the core's commands under the same names, their
//! options named like the one-line form's keys. Each one only hands its interaction to the
//! adapter ([`Shared::command`]); the descriptions (English and Chinese) come from the same
//! `command_menu` prompt as Telegram's menus, the Chinese names from [`ZH_NAMES`].

use std::borrow::Cow;
use std::sync::Arc;

use poise::serenity_prelude as serenity;

use crate::core::buttons::label;
use crate::core::case::TheftKind;
use crate::core::engine::Services;
use crate::core::evidence::Chain;
use crate::core::identity::Locale;
use crate::platforms::discord::adapter::Shared;
use crate::platforms::discord::inbound;
use crate::prompts::PromptKey;

pub type Data = Arc<Shared>;
pub type Error = anyhow::Error;
pub type Ctx<'a> = poise::Context<'a, Data, Error>;

/// Each command's Chinese name (Discord shows it to people whose client is in Chinese).
pub const ZH_NAMES: &[(&str, &str)] = &[
    ("report", "报案"),
    ("status", "状态"),
    ("contacted", "已联系"),
    ("replied", "已回复"),
    ("unresolved", "未解决"),
    ("evidence", "证据"),
    ("export", "导出"),
    ("authorities", "报警"),
    ("lang", "语言"),
    ("resolve", "已解决"),
    ("withdraw", "撤回"),
    ("cancel", "取消"),
    ("help", "帮助"),
    ("queue", "队列"),
    ("case", "案件"),
    ("note", "备注"),
    ("claim", "认领"),
    ("hold", "暂停"),
    ("resume", "恢复"),
    ("advance", "推进"),
    ("approve", "批准"),
    ("reject", "驳回"),
    ("close", "关闭"),
    ("consent", "联名同意"),
    ("clusters", "案件群"),
    ("cluster", "查看案件群"),
    ("unlink", "取消关联"),
    ("joint", "联名投诉"),
    ("stats", "客服统计"),
    // The message context menu ("Report to moderators").
    ("flag", "举报给管理员"),
];

/// Discord's Chinese locales: both get the Chinese names and descriptions.
const ZH_LOCALES: [&str; 2] = ["zh-CN", "zh-TW"];

/// Every command, with its descriptions in both languages.
pub fn all(svc: &Services) -> Vec<poise::Command<Data, Error>> {
    let mut commands = vec![
        report(),
        status(),
        contacted(),
        replied(),
        unresolved(),
        evidence(),
        export(),
        authorities(),
        lang(),
        resolve(),
        withdraw(),
        cancel(),
        help(),
        queue(),
        case(),
        note(),
        claim(),
        hold(),
        resume(),
        advance(),
        approve(),
        reject(),
        close(),
        consent(),
        clusters(),
        cluster(),
        unlink(),
        joint(),
        stats(),
        flag(),
    ];
    let zh_name = |name: &str| {
        ZH_NAMES.iter().find(|(n, _)| *n == name).map(|(_, zh)| {
            ZH_LOCALES
                .iter()
                .map(|l| (Cow::Borrowed(*l), Cow::Borrowed(*zh)))
                .collect()
        })
    };
    for c in commands.iter_mut().filter(|c| c.slash_action.is_none()) {
        if let Some(names) = zh_name(&c.name) {
            c.name_localizations = Cow::Owned(names);
        }
    }
    for c in commands.iter_mut().filter(|c| c.slash_action.is_some()) {
        let describe = |locale: Locale| {
            let text = svc
                .render(
                    locale,
                    PromptKey::CommandMenu,
                    &minijinja::context! { c => c.name.as_ref() },
                )
                .unwrap_or_else(|_| c.name.to_string());
            // Discord: 1-100 characters.
            crate::platforms::text::truncate(text.trim(), 100)
        };
        c.description = Some(Cow::Owned(describe(Locale::En)));
        let zh = describe(Locale::Zh);
        c.description_localizations = Cow::Owned(
            ZH_LOCALES
                .iter()
                .map(|l| (Cow::Borrowed(*l), Cow::Owned(zh.clone())))
                .collect(),
        );
        if let Some(names) = zh_name(&c.name) {
            c.name_localizations = Cow::Owned(names);
        }
    }
    commands
}

/// Hands the interaction to the adapter with the command's options in one-line order.
async fn run(ctx: Ctx<'_>, name: &str, args: &[Option<String>]) -> Result<(), Error> {
    if let poise::Context::Application(app) = ctx {
        let input = if name == "report" {
            let options = inbound::options(&app.interaction.data.options);
            if options.iter().all(|(_, v)| v.trim().is_empty()) {
                ctx.data().report_form(app.interaction).await;
                return Ok(());
            }
            inbound::report(&options)
        } else {
            inbound::command(name, args)
        };
        ctx.data().command(app.interaction, input).await;
    }
    Ok(())
}

fn choices(
    list: impl IntoIterator<Item = (String, String)>,
) -> serenity::CreateAutocompleteResponse {
    serenity::CreateAutocompleteResponse::new().set_choices(
        list.into_iter()
            .take(25)
            .map(|(name, value)| serenity::AutocompleteChoice::new(name, value))
            .collect(),
    )
}

fn locale_of(ctx: &Ctx<'_>) -> Locale {
    ctx.locale()
        .and_then(inbound::locale_hint)
        .unwrap_or(ctx.data().engine.services().default_locale)
}

fn matches(typed: &str, words: &[&str]) -> bool {
    let t = typed.trim().to_lowercase();
    t.is_empty() || words.iter().any(|w| w.to_lowercase().contains(&t))
}

async fn how_choices(ctx: Ctx<'_>, typed: &str) -> serenity::CreateAutocompleteResponse {
    let svc = ctx.data().engine.services();
    let locale = locale_of(&ctx);
    choices(TheftKind::ALL.iter().filter_map(|k| {
        let words = label(svc, locale, "how", &minijinja::context! { k => k.key() });
        matches(typed, &[&words, k.key()]).then(|| (words, k.key().to_string()))
    }))
}

async fn chain_choices(_ctx: Ctx<'_>, typed: &str) -> serenity::CreateAutocompleteResponse {
    choices(
        Chain::ALL
            .iter()
            .filter(|c| matches(typed, &[c.display_name(), c.key()]))
            .map(|c| (c.display_name().to_string(), c.key().to_string())),
    )
}

async fn country_choices(ctx: Ctx<'_>, typed: &str) -> serenity::CreateAutocompleteResponse {
    let countries = ctx.data().engine.services().authorities.countries();
    choices(countries.iter().filter_map(|c| {
        let code = c.to_string();
        matches(typed, &[&code]).then(|| (code.clone(), code))
    }))
}

async fn lang_choices(_ctx: Ctx<'_>, _typed: &str) -> serenity::CreateAutocompleteResponse {
    choices([
        ("English".to_string(), "en".to_string()),
        ("中文".to_string(), "zh".to_string()),
    ])
}

async fn case_choices(ctx: Ctx<'_>, typed: &str) -> serenity::CreateAutocompleteResponse {
    let poise::Context::Application(app) = ctx else {
        return choices([]);
    };
    let i = app.interaction;
    let shared = ctx.data();
    let moderator = shared
        .moderators
        .is_moderator(i.guild_id, i.member.as_deref());
    // A victim's commands suggest their own open cases, even to a moderator.
    let own = !crate::core::command::MODERATOR_COMMANDS.contains(&ctx.command().name.as_ref());
    choices(
        shared
            .case_choices(i.user.id.get(), moderator && !own, typed)
            .await,
    )
}

/// Report a theft (the options file it at once; without them the bot asks, one question at a time).
#[allow(clippy::too_many_arguments)] // one per option of the one-line form
#[poise::command(slash_command)]
pub async fn report(
    ctx: Ctx<'_>,
    #[description = "Wallet or app (Trust Wallet, MetaMask, an exchange…)"]
    #[description_localized("zh-CN", "钱包或应用")]
    #[max_length = 200]
    wallet: Option<String>,
    #[description = "How it happened"]
    #[description_localized("zh-CN", "被盗方式")]
    #[autocomplete = "how_choices"]
    how: Option<String>,
    #[description = "Chain (eth, tron, bsc, sol, btc…)"]
    #[description_localized("zh-CN", "链")]
    #[autocomplete = "chain_choices"]
    chain: Option<String>,
    #[description = "Amount stolen"]
    #[description_localized("zh-CN", "被盗金额")]
    #[max_length = 200]
    amount: Option<String>,
    #[description = "Asset (USDT, ETH…)"]
    #[description_localized("zh-CN", "资产")]
    #[max_length = 50]
    asset: Option<String>,
    #[description = "Transaction hashes, separated by spaces"]
    #[description_localized("zh-CN", "交易哈希（空格分隔）")]
    #[max_length = 1000]
    tx: Option<String>,
    #[description = "Addresses (the thief's, yours), separated by spaces"]
    #[description_localized("zh-CN", "地址（空格分隔）")]
    #[max_length = 1000]
    address: Option<String>,
    #[description = "The thief's addresses (where the funds went)"]
    #[description_localized("zh-CN", "盗币者地址（资金转入的地址）")]
    #[max_length = 1000]
    attacker: Option<String>,
    #[description = "When you noticed (2026-12-01 14:00, yesterday…)"]
    #[description_localized("zh-CN", "发现时间")]
    #[max_length = 100]
    noticed: Option<String>,
    #[description = "Which support you already contacted"]
    #[description_localized("zh-CN", "已联系的客服")]
    #[max_length = 300]
    contacted: Option<String>,
    #[description = "Your country (two letters: US, GB, CN…)"]
    #[description_localized("zh-CN", "所在国家（两位代码）")]
    #[autocomplete = "country_choices"]
    country: Option<String>,
    #[description = "Language for this case"]
    #[description_localized("zh-CN", "案件语言")]
    #[autocomplete = "lang_choices"]
    lang: Option<String>,
) -> Result<(), Error> {
    // Read from the interaction itself, under the option names the core knows.
    let _ = (
        wallet, how, chain, amount, asset, tx, address, attacker, noticed, contacted, country, lang,
    );
    run(ctx, "report", &[]).await
}

/// Your cases and where each stands.
#[poise::command(slash_command)]
pub async fn status(
    ctx: Ctx<'_>,
    #[description = "Case ID"]
    #[description_localized("zh-CN", "案件编号")]
    #[autocomplete = "case_choices"]
    case: Option<String>,
) -> Result<(), Error> {
    run(ctx, "status", &[case]).await
}

/// Record that you contacted support.
#[poise::command(slash_command)]
pub async fn contacted(
    ctx: Ctx<'_>,
    #[description = "Where and how (email support@…, the app's chat…)"]
    #[description_localized("zh-CN", "联系方式")]
    #[max_length = 500]
    how: String,
    #[description = "Case ID"]
    #[description_localized("zh-CN", "案件编号")]
    #[autocomplete = "case_choices"]
    case: Option<String>,
) -> Result<(), Error> {
    run(ctx, "contacted", &[case, Some(how)]).await
}

/// Record that support answered.
#[poise::command(slash_command)]
pub async fn replied(
    ctx: Ctx<'_>,
    #[description = "What they said (optional)"]
    #[description_localized("zh-CN", "客服的答复")]
    #[max_length = 1000]
    text: Option<String>,
    #[description = "Case ID"]
    #[description_localized("zh-CN", "案件编号")]
    #[autocomplete = "case_choices"]
    case: Option<String>,
) -> Result<(), Error> {
    run(ctx, "replied", &[case, text]).await
}

/// Support answered but did not help: restart the clock.
#[poise::command(slash_command)]
pub async fn unresolved(
    ctx: Ctx<'_>,
    #[description = "Case ID"]
    #[description_localized("zh-CN", "案件编号")]
    #[autocomplete = "case_choices"]
    case: Option<String>,
) -> Result<(), Error> {
    run(ctx, "unresolved", &[case]).await
}

/// List, add or remove evidence.
#[poise::command(slash_command)]
pub async fn evidence(
    ctx: Ctx<'_>,
    #[description = "list, add or remove"]
    #[description_localized("zh-CN", "list（列表）、add（添加）或 remove（删除）")]
    action: Option<String>,
    #[description = "Hashes or addresses to add, or item numbers to remove"]
    #[description_localized("zh-CN", "要添加的哈希或地址，或要删除的编号")]
    #[max_length = 1000]
    items: Option<String>,
    #[description = "Case ID"]
    #[description_localized("zh-CN", "案件编号")]
    #[autocomplete = "case_choices"]
    case: Option<String>,
) -> Result<(), Error> {
    run(ctx, "evidence", &[action, case, items]).await
}

/// The case dossier: a summary and the timeline, as files.
#[poise::command(slash_command)]
pub async fn export(
    ctx: Ctx<'_>,
    #[description = "Case ID"]
    #[description_localized("zh-CN", "案件编号")]
    #[autocomplete = "case_choices"]
    case: Option<String>,
    #[description = "Time zone (Asia/Shanghai, Europe/London…)"]
    #[description_localized("zh-CN", "时区")]
    #[max_length = 64]
    tz: Option<String>,
) -> Result<(), Error> {
    run(ctx, "export", &[case, tz]).await
}

/// Regulators and police for a country.
#[poise::command(slash_command)]
pub async fn authorities(
    ctx: Ctx<'_>,
    #[description = "Country (two letters)"]
    #[description_localized("zh-CN", "国家（两位代码）")]
    #[autocomplete = "country_choices"]
    country: Option<String>,
) -> Result<(), Error> {
    run(ctx, "authorities", &[country]).await
}

/// Whether moderators may include your case in a joint complaint.
#[poise::command(slash_command)]
pub async fn consent(
    ctx: Ctx<'_>,
    #[description = "yes or no"]
    #[description_localized("zh-CN", "yes（同意）或 no（不同意）")]
    answer: YesNo,
    #[description = "Case ID"]
    #[description_localized("zh-CN", "案件编号")]
    #[autocomplete = "case_choices"]
    case: Option<String>,
) -> Result<(), Error> {
    let answer = match answer {
        YesNo::Yes => "yes",
        YesNo::No => "no",
    };
    run(ctx, "consent", &[case, Some(answer.to_string())]).await
}

#[derive(Debug, poise::ChoiceParameter)]
pub enum YesNo {
    #[name = "yes"]
    #[name_localized("zh-CN", "同意")]
    Yes,
    #[name = "no"]
    #[name_localized("zh-CN", "不同意")]
    No,
}

/// Moderators: cases that share an attacker address.
#[poise::command(slash_command)]
pub async fn clusters(ctx: Ctx<'_>) -> Result<(), Error> {
    run(ctx, "clusters", &[]).await
}

/// Moderators: one cluster.
#[poise::command(slash_command)]
pub async fn cluster(
    ctx: Ctx<'_>,
    #[description = "Cluster ID, shared address or case ID"]
    #[description_localized("zh-CN", "案件群编号、共用地址或案件编号")]
    #[max_length = 200]
    target: String,
) -> Result<(), Error> {
    run(ctx, "cluster", &[Some(target)]).await
}

/// Moderators: stop an address linking cases.
#[poise::command(slash_command)]
pub async fn unlink(
    ctx: Ctx<'_>,
    #[description = "Case ID"]
    #[description_localized("zh-CN", "案件编号")]
    #[autocomplete = "case_choices"]
    case: String,
    #[description = "The address"]
    #[description_localized("zh-CN", "地址")]
    #[max_length = 200]
    address: String,
    #[description = "Why (an exchange hot wallet, a popular contract…)"]
    #[description_localized("zh-CN", "原因")]
    #[max_length = 500]
    reason: Option<String>,
) -> Result<(), Error> {
    run(ctx, "unlink", &[Some(case), Some(address), reason]).await
}

/// Moderators: draft a joint complaint for a cluster, or decide one.
#[poise::command(slash_command)]
pub async fn joint(
    ctx: Ctx<'_>,
    #[description = "Cluster ID, case ID or shared address; or the JC-… ID to decide"]
    #[description_localized("zh-CN", "案件群编号、案件编号或共用地址；审核时填 JC-… 编号")]
    #[max_length = 200]
    target: String,
    #[description = "Approve or reject the joint complaint named by target"]
    #[description_localized("zh-CN", "批准或拒绝 target 所指的联名投诉")]
    decide: Option<Decision>,
    #[description = "Why it is rejected"]
    #[description_localized("zh-CN", "拒绝原因")]
    #[max_length = 500]
    reason: Option<String>,
) -> Result<(), Error> {
    let decide = decide.map(|d| match d {
        Decision::Approve => "approve".to_string(),
        Decision::Reject => "reject".to_string(),
    });
    run(ctx, "joint", &[decide, Some(target), reason]).await
}

/// How often and how fast each company's support answers theft reports.
#[poise::command(slash_command)]
pub async fn stats(
    ctx: Ctx<'_>,
    #[description = "One company (wallet or exchange)"]
    #[description_localized("zh-CN", "某一家公司（钱包或交易所）")]
    #[max_length = 100]
    company: Option<String>,
    #[description = "Moderators: every company's figures as CSV and JSON files"]
    #[description_localized("zh-CN", "管理员：以 CSV 和 JSON 文件导出所有公司的统计")]
    export: Option<bool>,
) -> Result<(), Error> {
    if export == Some(true) {
        run(ctx, "stats", &[Some("export".to_string())]).await
    } else {
        run(ctx, "stats", &[company]).await
    }
}

#[derive(Debug, poise::ChoiceParameter)]
pub enum Decision {
    #[name = "approve"]
    #[name_localized("zh-CN", "批准")]
    Approve,
    #[name = "reject"]
    #[name_localized("zh-CN", "拒绝")]
    Reject,
}

/// Choose the language.
#[poise::command(slash_command)]
pub async fn lang(
    ctx: Ctx<'_>,
    #[description = "en or zh"]
    #[description_localized("zh-CN", "en 或 zh")]
    #[autocomplete = "lang_choices"]
    language: String,
    #[description = "Case ID"]
    #[description_localized("zh-CN", "案件编号")]
    #[autocomplete = "case_choices"]
    case: Option<String>,
) -> Result<(), Error> {
    run(ctx, "lang", &[case, Some(language)]).await
}

/// Mark a case resolved.
#[poise::command(slash_command)]
pub async fn resolve(
    ctx: Ctx<'_>,
    #[description = "Case ID"]
    #[description_localized("zh-CN", "案件编号")]
    #[autocomplete = "case_choices"]
    case: Option<String>,
) -> Result<(), Error> {
    run(ctx, "resolve", &[case]).await
}

/// Withdraw a case.
#[poise::command(slash_command)]
pub async fn withdraw(
    ctx: Ctx<'_>,
    #[description = "Case ID"]
    #[description_localized("zh-CN", "案件编号")]
    #[autocomplete = "case_choices"]
    case: Option<String>,
) -> Result<(), Error> {
    run(ctx, "withdraw", &[case]).await
}

/// Stop the report in progress.
#[poise::command(slash_command)]
pub async fn cancel(ctx: Ctx<'_>) -> Result<(), Error> {
    run(ctx, "cancel", &[]).await
}

/// What the bot does and how.
#[poise::command(slash_command)]
pub async fn help(ctx: Ctx<'_>) -> Result<(), Error> {
    run(ctx, "help", &[]).await
}

/// Any member: flag a message for the moderators (a fake support account, a "recovery" offer).
#[poise::command(context_menu_command = "Report to moderators")]
pub async fn flag(ctx: Ctx<'_>, message: serenity::Message) -> Result<(), Error> {
    if let poise::Context::Application(app) = ctx {
        ctx.data().flag(app.interaction, &message).await;
    }
    Ok(())
}

/// Moderators: the open cases.
#[poise::command(slash_command)]
pub async fn queue(ctx: Ctx<'_>) -> Result<(), Error> {
    run(ctx, "queue", &[]).await
}

macro_rules! moderator_command {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[poise::command(slash_command)]
        pub async fn $name(
            ctx: Ctx<'_>,
            #[description = "Case ID"]
            #[description_localized("zh-CN", "案件编号")]
            #[autocomplete = "case_choices"]
            case: String,
        ) -> Result<(), Error> {
            run(ctx, stringify!($name), &[Some(case)]).await
        }
    };
    ($(#[$doc:meta])* $name:ident, $text:ident) => {
        $(#[$doc])*
        #[poise::command(slash_command)]
        pub async fn $name(
            ctx: Ctx<'_>,
            #[description = "Case ID"]
            #[description_localized("zh-CN", "案件编号")]
            #[autocomplete = "case_choices"]
            case: String,
            #[description = "Words for the timeline"]
            #[description_localized("zh-CN", "记录的说明")]
            #[max_length = 1000]
            $text: Option<String>,
        ) -> Result<(), Error> {
            run(ctx, stringify!($name), &[Some(case), $text]).await
        }
    };
}

moderator_command!(
    /// Moderators: one case in full.
    case
);
moderator_command!(
    /// Moderators: take a case.
    claim
);
moderator_command!(
    /// Moderators: resume the clock.
    resume
);
moderator_command!(
    /// Moderators: take the next step now.
    advance
);
moderator_command!(
    /// Moderators: approve the public post.
    approve
);
moderator_command!(
    /// Moderators: pause the clock.
    hold,
    reason
);
moderator_command!(
    /// Moderators: reject the public post.
    reject,
    reason
);
moderator_command!(
    /// Moderators: close a case.
    close,
    reason
);

/// Moderators: a note on the case.
#[poise::command(slash_command)]
pub async fn note(
    ctx: Ctx<'_>,
    #[description = "Case ID"]
    #[description_localized("zh-CN", "案件编号")]
    #[autocomplete = "case_choices"]
    case: String,
    #[description = "The note"]
    #[description_localized("zh-CN", "备注内容")]
    #[max_length = 1000]
    text: String,
) -> Result<(), Error> {
    run(ctx, "note", &[Some(case), Some(text)]).await
}
