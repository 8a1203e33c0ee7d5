//! Capped exponential backoff with full jitter, shared by the lock wait and the mint's retries.
//!
//! Each pause is a random duration up to the current ceiling (never zero), and the ceiling
//! doubles after every pause up to a cap: waiters that collided do not wake together again
//! (the "full jitter" of AWS's architecture note on backoff). The lock starts at 10 ms and stops
//! doubling at 500 ms; the mint at 1 s and 30 s.

use std::time::Duration;

/// The pauses of one wait.
#[derive(Debug, Clone)]
pub struct Backoff {
    ceiling: Duration,
    cap: Duration,
}

impl Backoff {
    pub const fn new(first: Duration, cap: Duration) -> Backoff {
        Backoff {
            ceiling: first,
            cap,
        }
    }

    /// The lock wait's: 10 ms, doubling to 500 ms.
    pub const fn lock() -> Backoff {
        Backoff::new(Duration::from_millis(10), Duration::from_millis(500))
    }

    /// The mint's retries: 1 s, doubling to 30 s.
    pub const fn mint() -> Backoff {
        Backoff::new(Duration::from_secs(1), Duration::from_secs(30))
    }

    /// The next pause: random up to the ceiling, at least 1 ms; the ceiling then doubles.
    pub fn next_pause(&mut self) -> Duration {
        let pause = self
            .ceiling
            .mul_f64(fastrand::f64())
            .max(Duration::from_millis(1));
        self.ceiling = self.ceiling.saturating_mul(2).min(self.cap);
        pause
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_stay_under_a_doubling_ceiling_up_to_the_cap() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(400));
        let mut ceilings = Vec::new();
        for _ in 0..200 {
            ceilings.push(b.ceiling);
            let p = b.next_pause();
            assert!(p <= *ceilings.last().unwrap() && p >= Duration::from_millis(1));
        }
        assert_eq!(
            &ceilings[..4],
            [100, 200, 400, 400].map(Duration::from_millis)
        );
        // Jitter: the pauses under the cap are not all alike.
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(1));
        let pauses: Vec<_> = (0..20).map(|_| b.next_pause()).collect();
        assert!(pauses.iter().any(|p| *p != pauses[0]));
    }
}
