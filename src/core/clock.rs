//! Time as a port: the real clock, and a settable one for tests and the console's `/wait`.

use chrono::{DateTime, SubsecRound, Utc};
use std::sync::{Arc, Mutex, PoisonError};

/// Times are whole milliseconds everywhere: the store keeps deadlines in milliseconds, and a
/// finer clock would see a stored deadline as due a fraction of a millisecond before the rule
/// agrees that it is.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

fn ms(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(3)
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        ms(Utc::now())
    }
}

/// A clock that runs with real time plus an offset that only ever grows (`/wait`), or stands
/// still at a fixed instant (tests).
#[derive(Debug, Clone)]
pub struct ManualClock {
    inner: Arc<Mutex<ManualState>>,
}

#[derive(Debug)]
enum ManualState {
    Fixed(DateTime<Utc>),
    Offset(chrono::Duration),
}

impl ManualClock {
    /// Frozen at `at` until moved.
    pub fn fixed(at: DateTime<Utc>) -> ManualClock {
        ManualClock {
            inner: Arc::new(Mutex::new(ManualState::Fixed(at))),
        }
    }

    /// Real time shifted by `offset`.
    pub fn offset(offset: chrono::Duration) -> ManualClock {
        ManualClock {
            inner: Arc::new(Mutex::new(ManualState::Offset(offset))),
        }
    }

    pub fn advance(&self, by: chrono::Duration) {
        let mut s = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        match &mut *s {
            ManualState::Fixed(at) => *at += by,
            ManualState::Offset(o) => *o += by,
        }
    }

    /// Moves the clock to `at` if that is later than now.
    pub fn advance_to(&self, at: DateTime<Utc>) {
        let now = self.now();
        if at > now {
            self.advance(at - now);
        }
    }

    /// The shift from real time (zero for a fixed clock).
    pub fn current_offset(&self) -> chrono::Duration {
        match &*self.inner.lock().unwrap_or_else(PoisonError::into_inner) {
            ManualState::Fixed(_) => chrono::Duration::zero(),
            ManualState::Offset(o) => *o,
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        match &*self.inner.lock().unwrap_or_else(PoisonError::into_inner) {
            ManualState::Fixed(at) => ms(*at),
            ManualState::Offset(o) => ms(Utc::now() + *o),
        }
    }
}
