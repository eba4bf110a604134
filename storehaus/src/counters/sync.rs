//! Syncs: buffered amounts handed to the database in batches, exactly once.

use super::Counters;
use super::keys::CounterId;
use super::options::{Stats, SyncOptions, SyncReport};
use super::table::HandOver;
use super::write::cache_error;
use crate::cache::{CacheManager, glob_match};
use crate::error::Result;
use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

impl Counters {
    /// Hands every buffered amount (those matching `options.pattern`) to the database,
    /// `options.batch_size` counters per transaction, and finishes any hand-over an earlier
    /// sync left half-done. With `options.dry_run`, only reports.
    ///
    /// Safe to run from several processes at once and to cancel at any point: no increment is
    /// lost or applied twice. Keys are found with `SCAN`, never `KEYS`. In direct mode there
    /// is nothing to hand over and the report is empty.
    pub async fn sync(&self, options: SyncOptions) -> Result<SyncReport> {
        let started = Instant::now();
        let result = self.run_sync(&options).await;
        let stats = &self.inner.stats;
        Stats::bump(if result.is_ok() { &stats.syncs } else { &stats.failed_syncs });
        result.map(|report| SyncReport { elapsed: started.elapsed(), dry_run: options.dry_run, ..report })
    }

    async fn run_sync(&self, options: &SyncOptions) -> Result<SyncReport> {
        let batch_size = options.validated_batch()?;
        let mut report = SyncReport::default();
        let Some(cache) = self.inner.cache.as_deref() else {
            return Ok(report);
        };
        self.recover(cache).await.map_err(cache_error)?;
        self.drop_acked(cache).await;
        let mut scan = self.inner.keys.scan(None);
        let mut seen = HashSet::new();
        let mut batch = Vec::new();
        while let Some(found) = scan.next(cache, batch_size).await? {
            for (buffer, id) in found {
                let wanted = options.pattern.as_deref().is_none_or(|glob| glob_match(glob, &id.pattern_text()));
                if wanted && seen.insert(buffer.clone()) {
                    batch.push((buffer, id));
                }
                if batch.len() >= batch_size {
                    self.sync_batch(cache, std::mem::take(&mut batch), options.dry_run, &mut report).await?;
                }
            }
        }
        if !batch.is_empty() {
            self.sync_batch(cache, batch, options.dry_run, &mut report).await?;
        }
        Ok(report)
    }

    async fn sync_batch(
        &self,
        cache: &CacheManager,
        batch: Vec<(String, CounterId)>,
        dry_run: bool,
        report: &mut SyncReport,
    ) -> Result<()> {
        if dry_run {
            let buffers: Vec<String> = batch.iter().map(|(buffer, _)| buffer.clone()).collect();
            for state in cache.buffer_read(&buffers).await.map_err(cache_error)? {
                if state.is_settled() {
                    continue;
                }
                report.keys += 1;
                let pending = state.pending.filter(|pending| !pending.absolute).map_or(0, |pending| pending.value);
                report.delta_total = report.delta_total.saturating_add(state.delta).saturating_add(pending);
            }
            return Ok(());
        }
        // A buffer that still held an earlier sync's pending amount keeps its delta through the
        // take; once that amount is finished, a second round hands the delta over too.
        let mut round = batch;
        let mut counted = HashSet::new();
        for _ in 0..2 {
            if round.is_empty() {
                break;
            }
            round = self.sync_round(cache, round, &mut counted, report).await?;
        }
        Ok(())
    }

    /// Takes from every buffer of `batch` and hands the pending amounts over; returns the
    /// buffers whose take found an earlier pending amount and left a delta behind. `keys` of
    /// the report counts each buffer once (`counted`).
    async fn sync_round(
        &self,
        cache: &CacheManager,
        batch: Vec<(String, CounterId)>,
        counted: &mut HashSet<String>,
        report: &mut SyncReport,
    ) -> Result<Vec<(String, CounterId)>> {
        // One take per owner: an owner's buffers share a hash slot, different owners may not.
        let mut by_owner: BTreeMap<(String, String), Vec<(String, CounterId)>> = BTreeMap::new();
        for (buffer, id) in batch {
            by_owner.entry((id.owner_kind.clone(), id.owner_id.clone())).or_default().push((buffer, id));
        }
        let mut hand_overs = Vec::new();
        let mut left_behind = Vec::new();
        for counters in by_owner.into_values() {
            let buffers: Vec<String> = counters.iter().map(|(buffer, _)| buffer.clone()).collect();
            let states = cache.buffer_take(&buffers, None).await.map_err(cache_error)?;
            for ((buffer, id), state) in counters.into_iter().zip(states) {
                if state.delta != 0 {
                    left_behind.push((buffer.clone(), id.clone()));
                }
                if let Some(pending) = state.pending {
                    hand_overs.push((buffer, HandOver { id, pending }));
                }
            }
        }
        for (buffer, hand_over) in &hand_overs {
            if counted.insert(buffer.clone()) {
                report.keys += 1;
            }
            if !hand_over.pending.absolute {
                report.delta_total = report.delta_total.saturating_add(hand_over.pending.value);
            }
        }
        report.rows_written += self.hand_over(cache, hand_overs).await?;
        Ok(left_behind)
    }

    /// Applies the hand-overs in one transaction, then finishes them in the cache; returns how
    /// many rows changed. Dying anywhere leaves them pending for the next sync.
    pub(super) async fn hand_over(&self, cache: &CacheManager, hand_overs: Vec<(String, HandOver)>) -> Result<u64> {
        if hand_overs.is_empty() {
            return Ok(0);
        }
        let batch: Vec<HandOver> = hand_overs.iter().map(|(_, hand_over)| hand_over.clone()).collect();
        let applied = self.inner.table.apply(&batch).await?;
        let mut written = 0;
        for ((buffer, hand_over), applied) in hand_overs.iter().zip(applied) {
            written += u64::from(applied.written);
            cache.buffer_finish(buffer, hand_over.pending.seq, applied.count).await.map_err(cache_error)?;
        }
        Ok(written)
    }
}
