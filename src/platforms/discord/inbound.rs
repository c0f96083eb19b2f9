//! Discord's interactions as core inputs: who (a typed user ID, whether they moderate in the
//! community's server), which language Discord reports, and what (a slash command's options in
//! the one-line form's terms, a button's `custom_id` as the core's opaque token).

use serenity::all::{
    CommandDataOption, CommandDataOptionValue, GuildId, Member, Permissions, RoleId, User,
};

use crate::core::command::{Command, Parsed, ReportField};
use crate::core::identity::{Actor, Locale, UserRef};
use crate::core::message::Input;

/// What the moderator check needs from the settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Moderators {
    /// The community's server: Manage Server counts only there.
    pub guild: Option<u64>,
    pub role: Option<u64>,
}

impl Moderators {
    /// A member with the moderator role, or with Manage Server (or Administrator) in the
    /// community's server. Outside a server (a DM) nobody is a moderator: Discord says nothing
    /// about their roles there.
    pub fn is_moderator(&self, guild: Option<GuildId>, member: Option<&Member>) -> bool {
        let (Some(guild), Some(member)) = (guild, member) else {
            return false;
        };
        if self.has_role(Some(guild), &member.roles) {
            return true;
        }
        let ours = self.guild.is_some_and(|g| g == guild.get());
        ours && member
            .permissions
            .is_some_and(|p| p.contains(Permissions::MANAGE_GUILD) || p.administrator())
    }

    /// The moderator role among a member's roles (all a message says about its author).
    pub fn has_role(&self, guild: Option<GuildId>, roles: &[RoleId]) -> bool {
        guild.is_some() && self.role.is_some_and(|r| roles.contains(&RoleId::new(r)))
    }
}

/// The person, as the core names them: the display name they chose, else their username.
pub fn actor(user: &User, moderator: bool) -> Actor {
    Actor {
        user: UserRef::Discord(user.id.get()),
        name: user
            .global_name
            .clone()
            .unwrap_or_else(|| user.name.clone()),
        moderator,
    }
}

/// Discord's locale (`zh-CN`, `zh-TW`, `en-US`, `en-GB`, …) as a hint: Chinese for both
/// Chinese locales, English for English ones, nothing for the rest.
pub fn locale_hint(locale: &str) -> Option<Locale> {
    Locale::parse(locale)
}

/// A slash command's options, flattened to (name, value as typed).
pub fn options(opts: &[CommandDataOption]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for o in opts {
        match &o.value {
            CommandDataOptionValue::String(s) => out.push((o.name.clone(), s.clone())),
            CommandDataOptionValue::Integer(n) => out.push((o.name.clone(), n.to_string())),
            CommandDataOptionValue::Number(n) => out.push((o.name.clone(), n.to_string())),
            CommandDataOptionValue::Boolean(b) => out.push((o.name.clone(), b.to_string())),
            CommandDataOptionValue::SubCommand(inner)
            | CommandDataOptionValue::SubCommandGroup(inner) => out.extend(options(inner)),
            _ => {}
        }
    }
    out
}

/// `/report`'s options as the one-line form's fields (the option names are its keys); empty
/// values are left out, so `/report` alone starts the intake.
pub fn report(options: &[(String, String)]) -> Input {
    let fields: Vec<(ReportField, String)> = options
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .filter_map(|(k, v)| ReportField::parse(k).map(|f| (f, v.trim().to_string())))
        .collect();
    Input::Command(Command::Report(fields))
}

/// Any other command: its options in the order the one-line form takes them, read by the
/// core's own parser, so that a malformed case ID is answered exactly as it is in a chat.
pub fn command(name: &str, args: &[Option<String>]) -> Input {
    let mut line = format!("/{name}");
    for a in args.iter().flatten() {
        let a = a.trim();
        if !a.is_empty() {
            line.push(' ');
            line.push_str(a);
        }
    }
    match crate::core::command::parse(&line) {
        Ok(Parsed::Command(c)) => Input::Command(c),
        // The core answers a usage error in the user's language.
        _ => Input::Text(line),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::case::CaseId;

    fn member(json: serde_json::Value) -> Member {
        serde_json::from_value(json).expect("a member serenity reads")
    }

    fn fixture_member(roles: &[&str], permissions: Option<&str>) -> Member {
        let mut m = serde_json::json!({
            "user": {"id": "42", "username": "ann", "discriminator": "0", "avatar": null},
            "roles": roles, "joined_at": "2026-01-01T00:00:00Z", "deaf": false, "mute": false,
            "flags": 0, "guild_id": "100"
        });
        if let Some(p) = permissions {
            m["permissions"] = serde_json::json!(p);
        }
        member(m)
    }

    #[test]
    fn moderators_are_the_role_or_manage_server_in_our_server() {
        let mods = Moderators {
            guild: Some(100),
            role: Some(7),
        };
        let g = Some(GuildId::new(100));
        assert!(mods.is_moderator(g, Some(&fixture_member(&["7"], Some("0")))));
        // Manage Server is 1 << 5.
        assert!(mods.is_moderator(g, Some(&fixture_member(&[], Some("32")))));
        assert!(!mods.is_moderator(g, Some(&fixture_member(&["8"], Some("2048")))));
        // Manage Server in another server where the bot also is does not count there.
        assert!(!mods.is_moderator(
            Some(GuildId::new(999)),
            Some(&fixture_member(&[], Some("32")))
        ));
        // A DM: no member, no moderator.
        assert!(!mods.is_moderator(None, None));
    }

    #[test]
    fn options_become_the_one_line_forms_fields_and_commands() {
        let Input::Command(Command::Report(fields)) = report(&[
            ("wallet".into(), "Trust Wallet".into()),
            ("chain".into(), "eth".into()),
            ("country".into(), "  ".into()),
        ]) else {
            panic!("a report");
        };
        assert_eq!(
            fields,
            vec![
                (ReportField::Wallet, "Trust Wallet".to_string()),
                (ReportField::Chain, "eth".to_string())
            ]
        );
        let id = CaseId::generate();
        assert_eq!(
            command("status", &[Some(id.to_string())]),
            Input::Command(Command::Status { case: Some(id) })
        );
        assert_eq!(
            command("status", &[None]),
            Input::Command(Command::Status { case: None })
        );
        // A malformed ID goes to the core as typed: it answers as in a chat.
        assert!(matches!(
            command("claim", &[Some("RC-nope".into())]),
            Input::Text(t) if t == "/claim RC-nope"
        ));
        assert_eq!(locale_hint("zh-TW"), Some(Locale::Zh));
        assert_eq!(locale_hint("zh-CN"), Some(Locale::Zh));
        assert_eq!(locale_hint("en-GB"), Some(Locale::En));
    }
}
