//! The faults a chaos run injects, drawn from its seed: which, in what order, how long apart and
//! how long each part stays down. Pure, so a seed names the same schedule on every machine.

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::seq::SliceRandom as _;
use rand::{Rng as _, SeedableRng as _};

/// One kind of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum FaultKind {
    /// A validator instance killed with SIGKILL, then started again.
    KillValidator,
    /// An aggregator instance killed with SIGKILL, then started again.
    KillAggregator,
    /// The gateway killed with SIGKILL while a vendor's stream is open, then started again; the
    /// vendors retry what was not acknowledged.
    KillGateway,
    /// The broker killed with SIGKILL and started again on its stored log.
    RestartBroker,
    /// PostgreSQL restarted at once (`immediate`: no checkpoint, crash recovery on start).
    RestartPostgres,
    /// PostgreSQL stopped, left down for the outage while vendors keep sending, then started.
    PostgresOutage,
}

impl FaultKind {
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::KillValidator => "kill validator",
            FaultKind::KillAggregator => "kill aggregator",
            FaultKind::KillGateway => "kill gateway",
            FaultKind::RestartBroker => "restart broker",
            FaultKind::RestartPostgres => "restart postgresql",
            FaultKind::PostgresOutage => "postgresql outage",
        }
    }

    /// A process of Rollcall's killed, as opposed to a dependency restarted.
    pub fn is_kill(self) -> bool {
        matches!(
            self,
            FaultKind::KillValidator | FaultKind::KillAggregator | FaultKind::KillGateway
        )
    }
}

/// One fault as scheduled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    /// Which instance (1-based) of a validator or aggregator; 1 otherwise.
    pub instance: usize,
    /// The pause before the fault, after the previous one ended.
    pub after: Duration,
    /// How long the part stays down before it is started again.
    pub down: Duration,
}

/// What to draw a schedule from.
#[derive(Clone, Debug)]
pub struct Mix {
    pub cycles: usize,
    pub validators: usize,
    pub aggregators: usize,
    pub outage: Duration,
    /// Only these kinds, in turn, when not empty: to repeat one kind of fault.
    pub only: Vec<FaultKind>,
}

/// `mix.cycles` faults from `seed`. From six cycles on, every kind is in the schedule at least
/// once, and a broker and a PostgreSQL restart in every 25 cycles; the rest are kills of the
/// workers (most) and the gateway, in a shuffled order, 0.5 to 3 seconds apart.
pub fn schedule(seed: u64, mix: &Mix) -> Vec<Fault> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut kinds = Vec::with_capacity(mix.cycles);
    if !mix.only.is_empty() {
        kinds.extend(mix.only.iter().copied().cycle().take(mix.cycles));
    } else if mix.cycles >= 6 {
        let every_25 = mix.cycles.div_ceil(25);
        kinds.extend(std::iter::repeat_n(FaultKind::RestartBroker, every_25));
        kinds.extend(std::iter::repeat_n(FaultKind::RestartPostgres, every_25));
        kinds.extend([
            FaultKind::PostgresOutage,
            FaultKind::KillGateway,
            FaultKind::KillValidator,
            FaultKind::KillAggregator,
        ]);
    }
    while kinds.len() < mix.cycles {
        kinds.push(match rng.random_range(0..20) {
            0..9 => FaultKind::KillValidator,
            9..18 => FaultKind::KillAggregator,
            _ => FaultKind::KillGateway,
        });
    }
    kinds.truncate(mix.cycles);
    if mix.only.is_empty() {
        kinds.shuffle(&mut rng);
    }
    kinds
        .into_iter()
        .map(|kind| {
            let instance = match kind {
                FaultKind::KillValidator => rng.random_range(1..=mix.validators.max(1)),
                FaultKind::KillAggregator => rng.random_range(1..=mix.aggregators.max(1)),
                _ => 1,
            };
            let down = match kind {
                FaultKind::PostgresOutage => mix.outage,
                FaultKind::RestartPostgres => Duration::ZERO,
                _ => Duration::from_millis(rng.random_range(0..2_000)),
            };
            Fault {
                kind,
                instance,
                after: Duration::from_millis(rng.random_range(500..3_000)),
                down,
            }
        })
        .collect()
}

/// How long a schedule takes, pauses and downtime, not counting the time each fault and
/// restart itself takes.
pub fn length(faults: &[Fault]) -> Duration {
    faults.iter().map(|f| f.after + f.down).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mix(cycles: usize) -> Mix {
        Mix {
            cycles,
            validators: 2,
            aggregators: 2,
            outage: Duration::from_secs(60),
            only: Vec::new(),
        }
    }

    #[test]
    fn a_seed_names_one_schedule() {
        assert_eq!(schedule(42, &mix(50)), schedule(42, &mix(50)));
        assert_ne!(schedule(42, &mix(50)), schedule(43, &mix(50)));
    }

    #[test]
    fn every_kind_is_in_a_schedule_of_six_or_more() {
        for seed in 0..20 {
            let faults = schedule(seed, &mix(6));
            assert_eq!(faults.len(), 6);
            for kind in [
                FaultKind::KillValidator,
                FaultKind::KillAggregator,
                FaultKind::KillGateway,
                FaultKind::RestartBroker,
                FaultKind::RestartPostgres,
                FaultKind::PostgresOutage,
            ] {
                assert!(faults.iter().any(|f| f.kind == kind), "{kind:?} missing");
            }
        }
    }

    #[test]
    fn fifty_cycles_restart_each_dependency_twice_and_mostly_kill_workers() {
        let faults = schedule(7, &mix(50));
        let count = |kind| faults.iter().filter(|f| f.kind == kind).count();
        assert_eq!(count(FaultKind::RestartBroker), 2);
        assert_eq!(count(FaultKind::RestartPostgres), 2);
        assert_eq!(count(FaultKind::PostgresOutage), 1);
        assert!(count(FaultKind::KillValidator) + count(FaultKind::KillAggregator) >= 35);
        assert!(faults.iter().all(|f| (1..=2).contains(&f.instance)));
        let outage = faults
            .iter()
            .find(|f| f.kind == FaultKind::PostgresOutage)
            .unwrap();
        assert_eq!(outage.down, Duration::from_secs(60));
        assert!(length(&faults) >= Duration::from_secs(60 + 25));
    }

    #[test]
    fn a_short_schedule_is_worker_kills() {
        let faults = schedule(1, &mix(3));
        assert_eq!(faults.len(), 3);
        assert!(faults.iter().all(|f| f.kind.is_kill()));
    }

    #[test]
    fn only_the_kinds_asked_for_in_turn() {
        let only = Mix {
            only: vec![FaultKind::RestartBroker, FaultKind::KillGateway],
            ..mix(5)
        };
        let kinds: Vec<FaultKind> = schedule(3, &only).iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            [
                FaultKind::RestartBroker,
                FaultKind::KillGateway,
                FaultKind::RestartBroker,
                FaultKind::KillGateway,
                FaultKind::RestartBroker
            ]
        );
    }
}
