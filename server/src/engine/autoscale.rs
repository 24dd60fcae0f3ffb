//! Shard autoscaling from measured throughput.
//!
//! A monitor samples every shard's op and byte counters each tick and keeps an EWMA of
//! ops/s and bytes/s (also shown in INFO and metrics). With autoscaling on, a shard whose
//! rate stays above `split_ops` for a whole window is split in two; two neighbours whose
//! rates both stay below `merge_ops` for a window are merged. Hysteresis comes from the
//! window (a condition must hold continuously), from requiring `merge_ops` well below
//! `split_ops`, and from a cool-down after every change; `min`/`max` bound the count.
//! Layout changes go through `ShardMap::split`/`merge_with_next` (a short fence, no data
//! copy) and are persisted so a restart comes back with the same layout.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::shards::Shard;
use super::{Engine, Result};

/// Autoscaler settings (`--shard-split-ops`, `--shard-merge-ops`, …).
#[derive(Debug, Clone)]
pub struct AutoscaleConfig {
    /// Split a shard above this many ops/s (0 disables autoscaling).
    pub split_ops: f64,
    /// Merge two neighbours that are both below this many ops/s.
    pub merge_ops: f64,
    /// How long a condition must hold before acting.
    pub window: Duration,
    /// Minimum time between two layout changes.
    pub cooldown: Duration,
    pub min_shards: usize,
    pub max_shards: usize,
}

impl AutoscaleConfig {
    pub fn enabled(&self) -> bool {
        self.split_ops > 0.0
    }
}

impl Default for AutoscaleConfig {
    fn default() -> Self {
        AutoscaleConfig {
            split_ops: 0.0,
            merge_ops: 0.0,
            window: Duration::from_secs(10),
            cooldown: Duration::from_secs(10),
            min_shards: 1,
            max_shards: 64,
        }
    }
}

/// Smoothing factor of the EWMA per tick.
const ALPHA: f64 = 0.5;

#[derive(Default)]
struct ShardState {
    last_ops: u64,
    last_bytes: u64,
    hot_since: Option<Instant>,
    cold_since: Option<Instant>,
}

/// A layout change the autoscaler made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Split { shard: u32 },
    Merge { left: u32, right: u32 },
}

pub struct Autoscaler {
    config: AutoscaleConfig,
    state: HashMap<u32, ShardState>,
    last_tick: Instant,
    last_change: Option<Instant>,
}

impl Autoscaler {
    pub fn new(config: AutoscaleConfig) -> Autoscaler {
        Autoscaler {
            config,
            state: HashMap::new(),
            last_tick: Instant::now(),
            last_change: None,
        }
    }

    /// Updates the rates of every shard; returns the shards in slot order.
    fn sample(&mut self, shards: &[std::sync::Arc<Shard>], now: Instant) {
        let dt = now.duration_since(self.last_tick).as_secs_f64().max(1e-3);
        self.last_tick = now;
        self.state
            .retain(|id, _| shards.iter().any(|s| s.id == *id));
        for shard in shards {
            let ops = shard.ops.load(Ordering::Relaxed);
            let bytes = shard.bytes.load(Ordering::Relaxed);
            let st = self.state.entry(shard.id).or_insert_with(|| ShardState {
                last_ops: ops,
                last_bytes: bytes,
                ..Default::default()
            });
            let ops_rate = (ops - st.last_ops) as f64 / dt;
            let bytes_rate = (bytes - st.last_bytes) as f64 / dt;
            st.last_ops = ops;
            st.last_bytes = bytes;
            let smooth = |old: f64, new: f64| ALPHA * new + (1.0 - ALPHA) * old;
            let ops_ewma = smooth(shard.ops_per_sec(), ops_rate);
            let bytes_ewma = smooth(shard.bytes_per_sec(), bytes_rate);
            shard.ops_rate.store(ops_ewma.to_bits(), Ordering::Relaxed);
            shard
                .bytes_rate
                .store(bytes_ewma.to_bits(), Ordering::Relaxed);
            let hot = self.config.enabled() && ops_ewma > self.config.split_ops;
            let cold = self.config.enabled() && ops_ewma < self.config.merge_ops;
            st.hot_since = if hot {
                st.hot_since.or(Some(now))
            } else {
                None
            };
            st.cold_since = if cold {
                st.cold_since.or(Some(now))
            } else {
                None
            };
        }
    }

    fn held(&self, since: Option<Instant>, now: Instant) -> bool {
        since.is_some_and(|t| now.duration_since(t) >= self.config.window)
    }

    /// One monitoring round: sample rates, and maybe split or merge one shard.
    pub fn tick(&mut self, engine: &Engine) -> Result<Option<Decision>> {
        let now = Instant::now();
        let shards = engine.shards.shards();
        self.sample(&shards, now);
        if !self.config.enabled() {
            return Ok(None);
        }
        if self
            .last_change
            .is_some_and(|t| now.duration_since(t) < self.config.cooldown)
        {
            return Ok(None);
        }
        let decision = self.choose(&shards, now);
        if let Some(decision) = &decision {
            let started = Instant::now();
            let layout = match decision {
                Decision::Split { shard } => engine.shards.split(*shard),
                Decision::Merge { left, .. } => engine.shards.merge_with_next(*left),
            };
            // Time from asking for the fence until the new layout is live: how long
            // commands could have been held up.
            let fence = started.elapsed();
            if let Some(layout) = layout {
                engine.persist_layout(&layout)?;
                tracing::info!(
                    "autoscaler: {decision:?} (fence {fence:?}); now {} shards",
                    layout.ranges.len()
                );
                self.last_change = Some(now);
                // Fresh shards start with fresh measurements.
                self.state.clear();
            }
        }
        Ok(decision)
    }

    fn choose(&self, shards: &[std::sync::Arc<Shard>], now: Instant) -> Option<Decision> {
        let count = shards.len();
        if count < self.config.max_shards {
            let hottest = shards
                .iter()
                .filter(|s| s.end - u32::from(s.start) >= 2)
                .filter(|s| {
                    self.state
                        .get(&s.id)
                        .is_some_and(|st| self.held(st.hot_since, now))
                })
                .max_by(|a, b| a.ops_per_sec().total_cmp(&b.ops_per_sec()));
            if let Some(shard) = hottest {
                return Some(Decision::Split { shard: shard.id });
            }
        }
        if count > self.config.min_shards {
            for pair in shards.windows(2) {
                let cold = |s: &Shard| {
                    self.state
                        .get(&s.id)
                        .is_some_and(|st| self.held(st.cold_since, now))
                };
                if cold(&pair[0]) && cold(&pair[1]) {
                    return Some(Decision::Merge {
                        left: pair[0].id,
                        right: pair[1].id,
                    });
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::shards::ShardMap;

    fn cfg() -> AutoscaleConfig {
        AutoscaleConfig {
            split_ops: 100.0,
            merge_ops: 10.0,
            window: Duration::from_millis(0),
            cooldown: Duration::from_millis(0),
            min_shards: 1,
            max_shards: 4,
        }
    }

    #[test]
    fn hot_shard_is_chosen_for_split_and_cold_pair_for_merge() {
        let map = ShardMap::new(2);
        let shards = map.shards();
        let mut scaler = Autoscaler::new(cfg());
        let t0 = Instant::now();
        scaler.last_tick = t0;
        scaler.sample(&shards, t0);
        shards[1].ops.store(10_000, Ordering::Relaxed);
        let t1 = t0 + Duration::from_secs(1);
        scaler.sample(&shards, t1);
        assert_eq!(
            scaler.choose(&shards, t1),
            Some(Decision::Split {
                shard: shards[1].id
            })
        );
        // No more traffic: the EWMA decays below the merge threshold after a few rounds.
        let mut t = t1;
        for _ in 0..20 {
            t += Duration::from_secs(1);
            scaler.sample(&shards, t);
        }
        assert_eq!(
            scaler.choose(&shards, t),
            Some(Decision::Merge {
                left: shards[0].id,
                right: shards[1].id
            })
        );
    }

    #[test]
    fn disabled_autoscaler_only_measures() {
        let map = ShardMap::new(1);
        let shards = map.shards();
        let mut scaler = Autoscaler::new(AutoscaleConfig::default());
        let t0 = Instant::now();
        scaler.sample(&shards, t0);
        shards[0].ops.store(500, Ordering::Relaxed);
        scaler.sample(&shards, t0 + Duration::from_secs(1));
        assert!(shards[0].ops_per_sec() > 0.0);
        assert_eq!(scaler.choose(&shards, t0 + Duration::from_secs(1)), None);
    }
}
