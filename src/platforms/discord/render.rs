//! Core messages in Discord's shape: message content cut at Discord's 2,000-character limit on
//! line boundaries, mentions disabled (nothing a user typed pings anyone), and buttons as
//! action rows of components.

use serde_json::{Value, json};

use crate::core::message::{Button, Does};

/// Discord's limit for one message's content (counted conservatively, in UTF-16 units).
pub const MAX_TEXT: usize = 2000;
/// Discord's limits on buttons: five to a row, five rows.
const PER_ROW: usize = 5;
const ROWS: usize = 5;
/// The message flag that shows a message only to the person who used the interaction.
pub const EPHEMERAL: u64 = 1 << 6;
/// Discord's limit for a button's label and its `custom_id`.
const MAX_LABEL: usize = 80;
const MAX_CUSTOM_ID: usize = 100;

/// The `custom_id` of a button that starts a report (the core's "open the private report";
/// Discord has no link into a slash command, so the adapter answers the press with the form).
pub const REPORT_BUTTON: &str = "recourse:report";

/// The message body Discord expects for new content and buttons. `nonce` makes Discord refuse
/// a second message with the same nonce (`enforce_nonce`): a retry after a lost answer does
/// not post twice.
pub fn body(text: &str, buttons: &[Button], nonce: Option<&str>) -> Value {
    let mut b = json!({
        "content": text,
        "allowed_mentions": { "parse": [] },
        "components": components(buttons),
    });
    if let Some(n) = nonce {
        b["nonce"] = json!(n);
        b["enforce_nonce"] = json!(true);
    }
    b
}

/// Buttons as action rows: up to five a row, short labels together, long ones alone; what does
/// not fit in five rows is left off (the text always says how to do it by command).
pub fn components(buttons: &[Button]) -> Value {
    let short = buttons.iter().all(|b| b.label.chars().count() <= 14);
    let per_row = if short { PER_ROW } else { 1 };
    let mut rows: Vec<Vec<Value>> = Vec::new();
    for b in buttons {
        let Some(button) = button(b) else { continue };
        let room = rows.last().is_some_and(|row| row.len() < per_row);
        if room && let Some(row) = rows.last_mut() {
            row.push(button);
        } else if rows.len() < ROWS {
            rows.push(vec![button]);
        } else {
            break;
        }
    }
    Value::Array(
        rows.into_iter()
            .map(|r| json!({ "type": 1, "components": r }))
            .collect(),
    )
}

fn button(b: &Button) -> Option<Value> {
    let label = crate::platforms::text::truncate(&b.label, MAX_LABEL);
    match &b.does {
        Does::Press { token } if token.len() <= MAX_CUSTOM_ID => {
            Some(json!({ "type": 2, "style": 2, "label": label, "custom_id": token }))
        }
        Does::Press { .. } => None,
        Does::OpenPrivateReport => {
            Some(json!({ "type": 2, "style": 1, "label": label, "custom_id": REPORT_BUTTON }))
        }
        // On Discord the private conversation is the case's thread or the DM already open.
        Does::OpenPrivate => None,
        Does::Link { url } => url::Url::parse(url)
            .ok()
            .map(|u| json!({ "type": 2, "style": 5, "label": label, "url": u.as_str() })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(label: &str, token: &str) -> Button {
        Button {
            label: label.to_string(),
            does: Does::Press {
                token: token.to_string(),
            },
        }
    }

    #[test]
    fn buttons_become_rows_of_at_most_five_and_mentions_are_off() {
        let buttons: Vec<Button> = (0..7).map(|i| press(&format!("B{i}"), "t")).collect();
        let b = body("hi @everyone", &buttons, Some("n1"));
        let rows = b["components"].as_array().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["components"].as_array().unwrap().len(), 5);
        assert_eq!(rows[1]["components"][1]["custom_id"], "t");
        assert_eq!(b["allowed_mentions"]["parse"], json!([]));
        assert_eq!(b["nonce"], "n1");
        assert_eq!(b["enforce_nonce"], true);
        // Long labels go one to a row, and at most five rows.
        let long: Vec<Button> = (0..7)
            .map(|i| press(&format!("A rather long label {i}"), "t"))
            .collect();
        assert_eq!(components(&long).as_array().unwrap().len(), 5);
    }

    #[test]
    fn links_and_the_report_button() {
        let b = components(&[
            Button {
                label: "Explorer".into(),
                does: Does::Link {
                    url: "https://etherscan.io/tx/0x1".into(),
                },
            },
            Button {
                label: "Report".into(),
                does: Does::OpenPrivateReport,
            },
            Button {
                label: "Chat".into(),
                does: Does::OpenPrivate,
            },
        ]);
        let row = &b[0]["components"];
        assert_eq!(row[0]["style"], 5);
        assert_eq!(row[0]["url"], "https://etherscan.io/tx/0x1");
        assert_eq!(row[1]["custom_id"], REPORT_BUTTON);
        assert!(row.get(2).is_none());
    }
}
