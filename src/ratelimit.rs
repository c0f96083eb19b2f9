//! Platform rate limits for the outbox: how many messages may go out per second overall, per
//! chat, and per group, as each platform publishes them. A limit is a sliding window ("at most
//! 30 in any 1 s"), so the outbox can send a burst and then waits exactly as long as the window
//! requires. Limits are read from settings; the defaults are the platforms' published ones.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use crate::core::identity::{ChatRef, Platform, UserRef};
use crate::core::message::Recipient;

/// At most `count` messages in any window of `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
}

impl Rate {
    pub const fn new(count: u32, per: Duration) -> Rate {
        Rate { count, per }
    }

    /// Messages per second this rate allows in the long run.
    pub fn per_second(self) -> f64 {
        f64::from(self.count) / self.per.as_secs_f64()
    }
}

impl FromStr for Rate {
    type Err = String;

    /// `"30/1s"`, `"20/1m"`: a count, a slash, a duration.
    fn from_str(s: &str) -> Result<Rate, String> {
        let (count, per) = s
            .split_once('/')
            .ok_or_else(|| format!("'{s}' is not a rate; write it like \"30/1s\" or \"20/1m\""))?;
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| format!("'{count}' in '{s}' is not a whole number"))?;
        let per = humantime::parse_duration(per.trim())
            .map_err(|e| format!("'{per}' in '{s}' is not a duration: {e}"))?;
        if count == 0 || per.is_zero() {
            return Err(format!(
                "'{s}' allows nothing; a rate needs a count and a window"
            ));
        }
        Ok(Rate { count, per })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.count, humantime::format_duration(self.per))
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Rate, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The limits of one platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformLimits {
    /// All messages the bot sends on the platform.
    pub overall: Rate,
    /// Messages into one chat (private or group).
    pub chat: Rate,
    /// Messages into one group or channel, on top of `chat`.
    pub group: Rate,
}

impl PlatformLimits {
    /// Telegram's published limits: about 30 messages per second overall, one per second in a
    /// chat, 20 per minute in a group.
    pub const TELEGRAM: PlatformLimits = PlatformLimits {
        overall: Rate::new(30, Duration::from_secs(1)),
        chat: Rate::new(1, Duration::from_secs(1)),
        group: Rate::new(20, Duration::from_secs(60)),
    };
    /// Discord's: 50 requests per second per bot, 5 messages per 5 seconds in a channel.
    pub const DISCORD: PlatformLimits = PlatformLimits {
        overall: Rate::new(50, Duration::from_secs(1)),
        chat: Rate::new(5, Duration::from_secs(5)),
        group: Rate::new(5, Duration::from_secs(5)),
    };

    /// Every rate multiplied by `factor` (benchmarks run Telegram's limits ten times faster).
    pub fn scaled(self, factor: u32) -> PlatformLimits {
        let s = |r: Rate| Rate::new(r.count * factor, r.per);
        PlatformLimits {
            overall: s(self.overall),
            chat: s(self.chat),
            group: s(self.group),
        }
    }
}

/// `[delivery]` settings: the limits per platform, and the outbox's lease.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliverySettings {
    pub telegram: PlatformLimits,
    pub discord: PlatformLimits,
    /// How long an instance holds the messages it took from the outbox to send. Messages left
    /// by an instance that crashed are sent by another (or by it, restarted) once this has
    /// passed; a send that takes longer than this may be repeated by another instance.
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            telegram: PlatformLimits::TELEGRAM,
            discord: PlatformLimits::DISCORD,
            lease: Duration::from_secs(60),
        }
    }
}

/// One window a message counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Lane {
    Overall(Platform),
    Chat(Platform, String),
    Group(Platform, String),
}

/// Where a message goes, as far as limits are concerned.
fn lanes(to: &Recipient, broadcast: &[Platform]) -> Vec<Lane> {
    let chat = |p: Platform, id: String, group: bool| {
        let mut v = vec![Lane::Overall(p), Lane::Chat(p, id.clone())];
        if group {
            v.push(Lane::Group(p, id));
        }
        v
    };
    match to {
        Recipient::Chat {
            chat: ChatRef::Telegram { chat: id },
        } => chat(Platform::Telegram, id.to_string(), *id < 0),
        Recipient::Chat {
            chat: ChatRef::Discord { channel },
        } => chat(Platform::Discord, channel.to_string(), true),
        Recipient::User {
            user: UserRef::Telegram(id),
        } => chat(Platform::Telegram, id.to_string(), false),
        Recipient::User {
            user: UserRef::Discord(id),
        } => chat(Platform::Discord, format!("dm:{id}"), false),
        // One row per platform (the engine fans them out): a group message there.
        Recipient::Moderators { platform: Some(p) } => chat(*p, "moderators".to_string(), true),
        Recipient::Public { platform: Some(p) } => chat(*p, "public".to_string(), true),
        // A row written for no platform in particular (none was configured when it was
        // written) counts on every platform the bot runs on.
        Recipient::Moderators { platform: None } | Recipient::Public { platform: None } => {
            broadcast
                .iter()
                .flat_map(|p| chat(*p, format!("{to:?}"), true))
                .collect()
        }
        _ => Vec::new(),
    }
}

/// Sliding-window limiter. `ready_at` says when a message may go; `record` notes that it went.
/// Times are taken by the caller, so tests drive it with plain instants.
pub struct Limiter {
    limits: HashMap<Platform, PlatformLimits>,
    broadcast: Vec<Platform>,
    sent: HashMap<Lane, VecDeque<Instant>>,
}

impl Limiter {
    /// `broadcast`: the platforms the moderators' and public channels are on.
    pub fn new(settings: &DeliverySettings, broadcast: Vec<Platform>) -> Limiter {
        let limits = HashMap::from([
            (Platform::Telegram, settings.telegram),
            (Platform::Discord, settings.discord),
        ]);
        Limiter {
            limits,
            broadcast,
            sent: HashMap::new(),
        }
    }

    fn rate(&self, lane: &Lane) -> Option<Rate> {
        let (platform, pick): (_, fn(&PlatformLimits) -> Rate) = match lane {
            Lane::Overall(p) => (p, |l| l.overall),
            Lane::Chat(p, _) => (p, |l| l.chat),
            Lane::Group(p, _) => (p, |l| l.group),
        };
        self.limits.get(platform).map(pick)
    }

    /// The earliest instant, not before `now`, at which a message to `to` stays within limits.
    pub fn ready_at(&self, to: &Recipient, now: Instant) -> Instant {
        lanes(to, &self.broadcast)
            .iter()
            .filter_map(|lane| {
                let rate = self.rate(lane)?;
                let log = self.sent.get(lane)?;
                // Full window: wait until the oldest of the last `count` sends leaves it.
                (log.len() >= rate.count as usize)
                    .then(|| log[log.len() - rate.count as usize] + rate.per)
            })
            .fold(now, Instant::max)
    }

    /// Notes a message sent at `at` (take the instant after the platform answered, so that a
    /// slow request never lets two sends land closer than the window).
    pub fn record(&mut self, to: &Recipient, at: Instant) {
        for lane in lanes(to, &self.broadcast) {
            let Some(rate) = self.rate(&lane) else {
                continue;
            };
            let log = self.sent.entry(lane).or_default();
            log.push_back(at);
            while log.len() > rate.count as usize {
                log.pop_front();
            }
        }
    }

    /// Forgets windows that have closed, so memory follows the chats active in the last window.
    pub fn prune(&mut self, now: Instant) {
        let limits = &self.limits;
        self.sent.retain(|lane, log| {
            let per = match lane {
                Lane::Overall(p) => limits.get(p).map(|l| l.overall.per),
                Lane::Chat(p, _) => limits.get(p).map(|l| l.chat.per),
                Lane::Group(p, _) => limits.get(p).map(|l| l.group.per),
            };
            per.is_some_and(|per| log.back().is_some_and(|last| *last + per > now))
        });
    }
}

/// The shortest time the limits allow for sending `messages` (recipient, count): the largest
/// of what each window needs on its own. It is a lower bound (windows can compound: a busy
/// group's per-chat spacing can push its group window further), and exact when one window
/// dominates, as in the benchmark. Used by the benchmark to judge the outbox.
pub fn minimum_drain(
    settings: &DeliverySettings,
    broadcast: &[Platform],
    messages: &[(Recipient, u32)],
) -> Duration {
    let limiter = Limiter::new(settings, broadcast.to_vec());
    let mut per_lane: HashMap<Lane, u64> = HashMap::new();
    for (to, n) in messages {
        for lane in lanes(to, broadcast) {
            *per_lane.entry(lane).or_default() += u64::from(*n);
        }
    }
    per_lane
        .iter()
        .filter_map(|(lane, n)| {
            let rate = limiter.rate(lane)?;
            // n messages in bursts of `count`: the last burst starts after (bursts − 1) windows.
            let bursts = n.div_ceil(u64::from(rate.count));
            Some(rate.per * u32::try_from(bursts.saturating_sub(1)).unwrap_or(u32::MAX))
        })
        .max()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tg(chat: i64) -> Recipient {
        Recipient::Chat {
            chat: ChatRef::Telegram { chat },
        }
    }

    #[test]
    fn rates_parse_and_refuse_nonsense() {
        assert_eq!(
            "20/1m".parse::<Rate>(),
            Ok(Rate::new(20, Duration::from_secs(60)))
        );
        assert_eq!(
            " 30 / 1s ".parse::<Rate>(),
            Ok(Rate::new(30, Duration::from_secs(1)))
        );
        for bad in ["30", "0/1s", "30/0s", "x/1s", "30/soon"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad} accepted");
        }
    }

    /// Sends as fast as the limiter allows and checks every window the way the platform does.
    #[test]
    fn a_burst_never_exceeds_any_window_and_waits_no_longer_than_needed() {
        let settings = DeliverySettings {
            telegram: PlatformLimits::TELEGRAM.scaled(10),
            ..DeliverySettings::default()
        };
        let mut limiter = Limiter::new(&settings, vec![Platform::Telegram]);
        let start = Instant::now();
        // 20 private chats with 20 messages each, and one group with 150.
        let mut queue: Vec<Recipient> = Vec::new();
        for _ in 0..15 {
            for chat in 1..=20 {
                queue.push(tg(chat));
            }
            queue.extend(std::iter::repeat_n(tg(-100), 10));
        }
        for _ in 0..5 {
            queue.extend((1..=20).map(tg));
        }
        let mut now = start;
        let mut log: Vec<(Recipient, Instant)> = Vec::new();
        // Greedy: always the message that may go first (per-chat order kept by a stable pick).
        while !queue.is_empty() {
            let (i, at) = queue
                .iter()
                .enumerate()
                .map(|(i, to)| (i, limiter.ready_at(to, now)))
                .min_by_key(|(i, at)| (*at, *i))
                .unwrap();
            now = now.max(at);
            let to = queue.remove(i);
            limiter.record(&to, now);
            log.push((to, now));
        }
        let check = |filter: &dyn Fn(&Recipient) -> bool, rate: Rate| {
            let times: Vec<Instant> = log
                .iter()
                .filter(|(to, _)| filter(to))
                .map(|(_, t)| *t)
                .collect();
            for (i, t) in times.iter().enumerate() {
                let within = times[..=i].iter().filter(|s| **s + rate.per > *t).count();
                assert!(
                    within <= rate.count as usize,
                    "{within} in one window of {rate}"
                );
            }
        };
        let l = settings.telegram;
        check(&|_| true, l.overall);
        check(&|to| *to == tg(-100), l.group);
        check(&|to| *to == tg(-100), l.chat);
        check(&|to| *to == tg(1), l.chat);
        let counts: Vec<(Recipient, u32)> = (1..=20)
            .map(|c| (tg(c), 20))
            .chain([(tg(-100), 150)])
            .collect();
        let minimum = minimum_drain(&settings, &[Platform::Telegram], &counts);
        // 150 messages into one chat at 10 per second: the last burst starts 14 s in.
        assert_eq!(minimum, Duration::from_secs(14));
        assert_eq!(now - start, minimum);
    }

    #[test]
    fn broadcast_counts_on_every_platform_and_console_is_unlimited() {
        let settings = DeliverySettings::default();
        let mut limiter = Limiter::new(&settings, vec![Platform::Telegram, Platform::Discord]);
        let now = Instant::now();
        for _ in 0..5 {
            limiter.record(&Recipient::MODERATORS, now);
        }
        // Discord allows 5 per 5 s in a channel: the sixth waits five seconds.
        assert_eq!(
            limiter.ready_at(&Recipient::MODERATORS, now),
            now + Duration::from_secs(5)
        );
        // A row fanned out to one platform counts only there.
        let telegram_mods = Recipient::Moderators {
            platform: Some(Platform::Telegram),
        };
        assert_eq!(limiter.ready_at(&telegram_mods, now), now);
        let console = Recipient::Chat {
            chat: ChatRef::Console,
        };
        for _ in 0..1000 {
            limiter.record(&console, now);
        }
        assert_eq!(limiter.ready_at(&console, now), now);
        limiter.prune(now + Duration::from_secs(120));
        assert_eq!(limiter.ready_at(&Recipient::MODERATORS, now), now);
    }
}
