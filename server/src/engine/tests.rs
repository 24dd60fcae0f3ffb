//! Engine-level tests of the write path's invariants, on a temporary directory: whatever
//! layer writes (Redis types, tables, change logs, EXEC), the engine's bookkeeping follows.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::keys::{key_slot, meta_key, sub_prefix};
use super::*;

fn open() -> (tempfile::TempDir, Arc<Engine>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(
        dir.path(),
        EngineOptions {
            shards: 4,
            budget: MemoryBudget::split(budget::MIN_BUDGET),
            ..EngineOptions::default()
        },
    )
    .expect("open");
    (dir, engine)
}

/// Bytes credited so far to the shard owning `slot`.
fn shard_bytes(engine: &Engine, slot: u16) -> u64 {
    let layout = engine.shards.read();
    layout.shard_for_slot(slot).bytes.load(Ordering::Relaxed)
}

fn put_string(engine: &Engine, locks: Locks, key: &[u8], value: &[u8], expire_at: u64) {
    let mut txn = engine.txn(locks, 0, &[key]);
    let mut meta = Meta::string(value.to_vec());
    meta.expire_at = expire_at;
    txn.put(key, meta).unwrap();
    txn.commit().unwrap();
}

fn expiry_rows(engine: &Engine) -> usize {
    engine.expiry.iter().count()
}

#[test]
fn key_counts_follow_creates_overwrites_and_deletes() {
    let (_dir, engine) = open();
    put_string(&engine, Locks::Take, b"a", b"1", 0);
    put_string(&engine, Locks::Take, b"b", b"1", 0);
    put_string(&engine, Locks::Take, b"a", b"2", 0);
    assert_eq!(engine.key_count(0), 2);
    let mut txn = engine.txn(Locks::Take, 0, &[b"a"]);
    assert!(txn.delete(b"a").unwrap());
    txn.commit().unwrap();
    assert_eq!(engine.key_count(0), 1);
    assert_eq!(engine.key_count(1), 0);
}

#[test]
fn expiry_index_follows_expire_at() {
    let (_dir, engine) = open();
    let later = now_ms() + 60_000;
    put_string(&engine, Locks::Take, b"k", b"v", later);
    assert_eq!(expiry_rows(&engine), 1);
    // A new expiry replaces the index entry; removing the expiry drops it.
    put_string(&engine, Locks::Take, b"k", b"v", later + 1);
    assert_eq!(expiry_rows(&engine), 1);
    put_string(&engine, Locks::Take, b"k", b"v", 0);
    assert_eq!(expiry_rows(&engine), 0);
    // A due key is removed by the expiry cycle, with its index entry and count.
    put_string(
        &engine,
        Locks::Take,
        b"gone",
        b"v",
        now_ms().saturating_sub(1),
    );
    assert_eq!(engine.key_count(0), 2);
    background::expire_cycle(&engine).unwrap();
    assert_eq!(expiry_rows(&engine), 0);
    assert_eq!(engine.key_count(0), 1);
    assert_eq!(engine.expired_keys.load(Ordering::Relaxed), 1);
}

#[test]
fn dropped_versions_are_reclaimed() {
    let (_dir, engine) = open();
    let version = engine.new_version().unwrap();
    let mut txn = engine.txn(Locks::Take, 0, &[b"h"]);
    let mut meta = Meta::new(Kind::Hash, version);
    meta.len = 100;
    txn.put(b"h", meta).unwrap();
    for i in 0..100u32 {
        txn.sub_put(b"h", version, &i.to_be_bytes(), b"v".to_vec());
    }
    txn.commit().unwrap();
    let prefix = sub_prefix(&meta_key(0, b"h"), version);
    assert_eq!(engine.sub.prefix(&prefix).count(), 100);
    // DEL is O(1): the version is queued for reclaim, its sub-rows are left for later.
    let mut txn = engine.txn(Locks::Take, 0, &[b"h"]);
    txn.delete(b"h").unwrap();
    txn.commit().unwrap();
    assert_eq!(engine.gc.iter().count(), 1);
    while background::reclaim_cycle(&engine).unwrap() {}
    assert_eq!(engine.sub.prefix(&prefix).count(), 0);
    assert_eq!(engine.gc.iter().count(), 0);
}

#[test]
fn reads_see_committed_writes_through_the_caches() {
    let (_dir, engine) = open();
    let version = engine.new_version().unwrap();
    for value in [b"1", b"2"] {
        let mut txn = engine.txn(Locks::Take, 0, &[b"h"]);
        txn.put(b"h", Meta::new(Kind::Hash, version)).unwrap();
        txn.sub_put(b"h", version, b"f", value.to_vec());
        txn.commit().unwrap();
        // Read twice: once filling the caches, once from them.
        for _ in 0..2 {
            let txn = engine.txn(Locks::Take, 0, &[b"h"]);
            assert_eq!(
                txn.sub_get(b"h", version, b"f").unwrap(),
                Some(value.to_vec())
            );
        }
    }
}

#[test]
fn every_write_is_credited_to_its_shard() {
    let (_dir, engine) = open();
    let slot = key_slot(b"k");
    // A command on its own.
    let before = shard_bytes(&engine, slot);
    put_string(&engine, Locks::Take, b"k", b"one", 0);
    let after_own = shard_bytes(&engine, slot);
    assert!(after_own > before);
    // Inside an EXEC-like block that holds every shard lock: the borrowed locks credit the
    // shard too (and the write does not deadlock on the non-reentrant shard mutexes).
    let all = LockSet::all(&engine);
    put_string(&engine, Locks::Held(&all), b"k", b"two", 0);
    drop(all);
    let after_held = shard_bytes(&engine, slot);
    assert!(after_held > after_own);
    // Item and change-log rows are credited to the slot they name.
    let item_slot = key_slot(b"partition");
    let before_items = shard_bytes(&engine, item_slot);
    let mut txn = engine.txn_slots(Locks::Take, FIRST_TABLE_SPACE, [item_slot].into_iter());
    txn.row_write(
        Family::Items,
        FIRST_TABLE_SPACE,
        item_slot,
        b"row".to_vec(),
        Some(vec![1; 10]),
    )
    .unwrap();
    txn.commit().unwrap();
    let after_items = shard_bytes(&engine, item_slot);
    assert_eq!(after_items - before_items, 13);
    let mut txn = engine.unsharded_txn();
    txn.row_write(
        Family::ChangeLog,
        0,
        item_slot,
        b"rec".to_vec(),
        Some(vec![1; 7]),
    )
    .unwrap();
    txn.commit().unwrap();
    assert_eq!(shard_bytes(&engine, item_slot) - after_items, 10);
}

#[test]
fn item_counts_follow_row_writes_and_survive_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let table = FIRST_TABLE_SPACE + 7;
    {
        let engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
        let write = |row: &[u8], value: Option<Vec<u8>>| {
            let slot = 5;
            let mut key = slot_bytes(slot, table);
            key.extend_from_slice(row);
            let mut txn = engine.txn_slots(Locks::Take, table, [slot].into_iter());
            txn.row_write(Family::Items, table, slot, key, value)
                .unwrap();
            txn.commit().unwrap();
        };
        write(b"a", Some(b"x".to_vec()));
        write(b"b", Some(b"x".to_vec()));
        write(b"a", Some(b"y".to_vec()));
        assert_eq!(engine.key_count(table), 2);
        write(b"b", None);
        assert_eq!(engine.key_count(table), 1);
        // FLUSHALL clears Redis keys, not table items.
        let all = Locks::Take.acquire_all(&engine);
        engine.clear_redis_keyspaces(&all).unwrap();
        drop(all);
        assert_eq!(engine.key_count(table), 1);
        engine.persist().unwrap();
    }
    let engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
    assert_eq!(engine.key_count(table), 1);
    // Only Redis dbs are reported as keyspaces.
    assert!(engine.spaces_with_keys().is_empty());
}

/// The `slot ‖ table id` prefix of an item row.
fn slot_bytes(slot: u16, table: u32) -> Vec<u8> {
    let mut key = slot.to_be_bytes().to_vec();
    key.extend_from_slice(&table.to_be_bytes());
    key
}

#[test]
fn a_change_log_append_inside_a_command_does_not_wait_for_a_split() {
    // A command holds the layout (read) while its commit appends to a change log, which
    // credits bytes through the layout again. A split waiting for the write lock must not
    // wedge that second, recursive read.
    let (_dir, engine) = open();
    let held = LockSet::for_slots(&engine, [1u16].into_iter());
    let splitter = {
        let engine = engine.clone();
        let id = engine.shards.shards()[0].id;
        std::thread::spawn(move || engine.shards.split(id))
    };
    std::thread::sleep(std::time::Duration::from_millis(50));
    let mut txn = engine.unsharded_txn();
    txn.row_write(Family::ChangeLog, 0, 1, b"rec".to_vec(), Some(vec![0; 4]))
        .unwrap();
    txn.commit().unwrap();
    drop(held);
    assert!(splitter.join().unwrap().is_some());
}

#[test]
fn versions_never_repeat_across_reopen_and_reservations() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut seen = Vec::new();
    for _ in 0..2 {
        let engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
        for _ in 0..3 {
            seen.push(engine.new_version().unwrap());
            engine.reserve_versions().unwrap();
        }
        // The ceiling was reserved ahead: half a block of versions needs no persist.
        let ceiling = *engine.version_ceiling.lock();
        assert!(ceiling - engine.next_version.load(Ordering::SeqCst) >= VERSION_BLOCK / 2);
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "versions repeated or went backwards");
}

/// Writes a set-like key `k` with `n` sub-rows at a fresh version; returns the version.
/// Tests that write sub-rows of their own create the key with `n = 0` first: as every value
/// with sub-rows, they need a metadata row, or compaction removes their rows.
fn write_members(engine: &Engine, key: &[u8], n: u32) -> u64 {
    let version = engine.new_version().unwrap();
    let mut txn = engine.txn(Locks::Take, 0, &[key]);
    let mut meta = Meta::new(Kind::Set, version);
    meta.len = u64::from(n);
    txn.put(key, meta).unwrap();
    for i in 0..n {
        txn.sub_put(key, version, &i.to_be_bytes(), Vec::new());
    }
    txn.commit().unwrap();
    version
}

#[test]
fn a_key_emptied_row_by_row_queues_no_reclaim() {
    let (_dir, engine) = open();
    let version = write_members(&engine, b"s", 3);
    let mut txn = engine.txn(Locks::Take, 0, &[b"s"]);
    for i in 0..3u32 {
        txn.sub_delete(b"s", version, &i.to_be_bytes());
    }
    assert!(txn.delete_emptied(b"s", version).unwrap());
    txn.commit().unwrap();
    assert_eq!(engine.gc.iter().count(), 0);
    assert!(engine
        .txn(Locks::Take, 0, &[b"s"])
        .get(b"s")
        .unwrap()
        .is_none());
}

#[test]
fn an_emptied_version_written_again_is_still_reclaimed_when_dropped() {
    let (_dir, engine) = open();
    let version = write_members(&engine, b"s", 1);
    // Emptied, then the same version put back with a row (as one transaction may do):
    // the mark no longer holds, and a later DEL must queue the version.
    let mut txn = engine.txn(Locks::Take, 0, &[b"s"]);
    txn.sub_delete(b"s", version, &0u32.to_be_bytes());
    txn.delete_emptied(b"s", version).unwrap();
    let mut meta = Meta::new(Kind::Set, version);
    meta.len = 1;
    txn.sub_put(b"s", version, b"again", Vec::new());
    txn.put(b"s", meta).unwrap();
    txn.delete(b"s").unwrap();
    txn.commit().unwrap();
    assert_eq!(engine.gc.iter().count(), 1);
}

#[test]
fn reclaim_resumes_after_the_last_row_it_deleted() {
    let (_dir, engine) = open();
    let rows = background::RECLAIM_BATCH as u32 * 2 + 5;
    let version = write_members(&engine, b"big", rows);
    let mut txn = engine.txn(Locks::Take, 0, &[b"big"]);
    txn.delete(b"big").unwrap();
    txn.commit().unwrap();
    let prefix = sub_prefix(&meta_key(0, b"big"), version);
    assert!(background::reclaim_cycle(&engine).unwrap());
    // One batch deleted; the gc row remembers where it stopped.
    let remaining = engine.sub.prefix(&prefix).count();
    assert_eq!(remaining, rows as usize - background::RECLAIM_BATCH);
    let (_, resume) = engine.gc.first().unwrap().unwrap();
    let first_left = engine.sub.prefix(&prefix).next().unwrap().key().unwrap();
    assert!(resume.as_ref() < first_left.as_ref());
    while background::reclaim_cycle(&engine).unwrap() {}
    assert_eq!(engine.sub.prefix(&prefix).count(), 0);
    assert_eq!(engine.gc.iter().count(), 0);
}

/// Options with the smallest memory budget (a small write buffer, frozen often).
fn smallest_budget() -> EngineOptions {
    EngineOptions {
        budget: MemoryBudget::split(budget::MIN_BUDGET),
        ..EngineOptions::default()
    }
}

/// Reads of one hash's sub-rows while they are spread over the write buffer's active layer,
/// frozen layers and fjall (ingested runs holding values and deletions, fresh inserts deleted
/// again within the active layer and across layers): point reads and
/// scans in both directions, bounded and not, agree with a model, before and after a
/// restart that replays the journal.
#[test]
fn rows_read_the_same_wherever_the_write_buffer_left_them() {
    use std::collections::BTreeMap;
    use std::ops::Bound;

    let dir = tempfile::tempdir().expect("temp dir");
    let options = smallest_budget();
    let engine = Engine::open(dir.path(), options.clone()).unwrap();
    let version = write_members(&engine, b"h", 0);
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = |below: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % below
    };
    for round in 0..12 {
        let mut txn = engine.txn(Locks::Take, 0, &[b"h"]);
        for _ in 0..300 {
            let field = format!("f{:04}", next(1500)).into_bytes();
            if next(4) == 0 {
                txn.sub_delete(b"h", version, &field);
                model.remove(&field);
            } else {
                let value = format!("v{round}-{}", next(1000)).into_bytes();
                // Fields known absent are inserted fresh: deleted again while still in the
                // active layer, they leave no entry behind.
                if model.contains_key(&field) {
                    txn.sub_put(b"h", version, &field, value.clone());
                } else {
                    txn.sub_insert(b"h", version, &field, value.clone());
                }
                model.insert(field, value);
            }
        }
        txn.commit().unwrap();
        match round % 3 {
            0 => engine.flush_write_buffer().unwrap(),
            1 => engine.buffer.freeze().unwrap(),
            _ => {}
        }
    }
    let check = |engine: &Engine| {
        let txn = engine.txn(Locks::Take, 0, &[b"h"]);
        let forward: Vec<_> = txn
            .sub_scan(b"h", version, Bound::Unbounded, Bound::Unbounded, false)
            .map(|r| r.unwrap())
            .collect();
        let expected: Vec<_> = model.clone().into_iter().collect();
        assert_eq!(forward, expected);
        let backward: Vec<_> = txn
            .sub_scan(b"h", version, Bound::Unbounded, Bound::Unbounded, true)
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(backward, expected.iter().rev().cloned().collect::<Vec<_>>());
        let (lo, hi) = (b"f0400".as_slice(), b"f1100".as_slice());
        let bounded: Vec<_> = txn
            .sub_scan(
                b"h",
                version,
                Bound::Excluded(lo),
                Bound::Included(hi),
                true,
            )
            .map(|r| r.unwrap().0)
            .collect();
        let expected_keys: Vec<_> = model
            .range::<[u8], _>((Bound::Excluded(lo), Bound::Included(hi)))
            .rev()
            .map(|(k, _)| k.clone())
            .collect();
        assert_eq!(bounded, expected_keys);
        for i in 0..1500 {
            let field = format!("f{i:04}").into_bytes();
            assert_eq!(
                txn.sub_get(b"h", version, &field).unwrap(),
                model.get(&field).cloned()
            );
        }
    };
    check(&engine);
    engine.durability.sync_all(&engine.buffer).unwrap();
    drop(engine);
    let engine = Engine::open(dir.path(), options).unwrap();
    check(&engine);
    // And once everything is in fjall.
    engine.flush_write_buffer().unwrap();
    assert_eq!(engine.buffer.usage(), (0, 0));
    check(&engine);
}

/// A scan keeps fjall's range open from one chunk of buffered rows to the next: rows the
/// flush thread moves from the buffer into fjall while a scan is half-way must still be
/// seen, once, and deleted rows (a run of them spans many chunks) must stay hidden.
#[test]
fn a_scan_sees_every_row_once_while_the_write_buffer_moves_rows_under_it() {
    use std::collections::BTreeMap;
    use std::ops::Bound;

    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(dir.path(), smallest_budget()).unwrap();
    let version = write_members(&engine, b"h", 0);
    let field = |i: usize| format!("f{i:04}").into_bytes();
    let mut round = 0;
    for reverse in [false, true] {
        for read_first in [0, 1, 5, 30, 120, 200] {
            round += 1;
            // Every field in fjall with this round's value; then, in the buffer, a long run
            // of deletions with a few rewrites among them.
            let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
            let mut txn = engine.txn(Locks::Take, 0, &[b"h"]);
            for i in 0..2000 {
                let value = format!("old{round}").into_bytes();
                txn.sub_put(b"h", version, &field(i), value.clone());
                model.insert(field(i), value);
            }
            txn.commit().unwrap();
            engine.flush_write_buffer().unwrap();
            let mut txn = engine.txn(Locks::Take, 0, &[b"h"]);
            for i in 100..1900 {
                if i % 7 == 0 {
                    let value = format!("new{round}").into_bytes();
                    txn.sub_put(b"h", version, &field(i), value.clone());
                    model.insert(field(i), value);
                } else {
                    txn.sub_delete(b"h", version, &field(i));
                    model.remove(&field(i));
                }
            }
            txn.commit().unwrap();
            let txn = engine.txn(Locks::Take, 0, &[b"h"]);
            let mut scan = txn.sub_scan(b"h", version, Bound::Unbounded, Bound::Unbounded, reverse);
            let mut seen: Vec<_> = scan.by_ref().take(read_first).map(|r| r.unwrap()).collect();
            engine.flush_write_buffer().unwrap();
            seen.extend(scan.map(|r| r.unwrap()));
            let mut want: Vec<_> = model.into_iter().collect();
            if reverse {
                want.reverse();
            }
            assert_eq!(
                seen, want,
                "reverse {reverse}, {read_first} rows before the flush"
            );
        }
    }
}

/// A sub-row scan from any point (SPOP's seek: the first member at or after a random
/// point) answers as a model set does, with its batch's pending inserts and deletions over
/// the set's rows (and not the command's own, unless it carries the batch's writes), whether
/// those rows are in the write buffer's active layer, a frozen layer or fjall.
#[test]
fn a_scan_from_any_point_sees_pending_writes_over_rows_wherever_they_are() {
    use std::collections::BTreeSet;
    use std::ops::Bound;

    let member = |i: u32, between: bool| {
        let mut m = i.to_be_bytes().to_vec();
        if between {
            m.push(0x80); // sorts between i and i + 1
        }
        m
    };
    for stage in 0..6 {
        let (_dir, engine) = open();
        let version = write_members(&engine, b"s", 200);
        let mut model: BTreeSet<Vec<u8>> = (0..200).map(|i| member(i, false)).collect();
        match stage % 3 {
            1 => engine.buffer.freeze().unwrap(),
            2 => engine.flush_write_buffer().unwrap(),
            _ => {}
        }
        let guard = Locks::Take.acquire(&engine, std::iter::once(key_slot(b"s")));
        let batch = Batch::new(0);
        // An earlier command of the batch: deletions (runs of them) and inserts.
        let mut earlier = engine.txn(guard.held(), 0, &[b"s"]).in_batch(Some(&batch));
        for i in (10..40).chain(100..103).chain([150, 199]) {
            earlier.sub_delete(b"s", version, &member(i, false));
            model.remove(&member(i, false));
        }
        for i in [5, 20, 120, 300] {
            earlier.sub_insert(b"s", version, &member(i, true), Vec::new());
            model.insert(member(i, true));
        }
        earlier.commit().unwrap();
        // This command's own writes, which its scans do not see (they scan before writing),
        // unless it carries the batch's writes (stages 3 to 5: the earlier command's are then
        // in its own pending writes, and so are its own).
        let carries = stage >= 3;
        batch.let_next_carry(carries);
        let mut txn = engine.txn(guard.held(), 0, &[b"s"]).in_batch(Some(&batch));
        for i in [0, 1, 2, 41, 120] {
            txn.sub_delete(b"s", version, &member(i, i == 120));
            if carries {
                model.remove(&member(i, i == 120));
            }
        }
        for (i, between) in [(30, false), (44, true), (198, true)] {
            txn.sub_insert(b"s", version, &member(i, between), Vec::new());
            if carries {
                model.insert(member(i, between));
            }
        }
        let first_from = |from: Bound<&[u8]>| {
            let mut scan = txn.sub_scan(b"s", version, from, Bound::Unbounded, false);
            scan.next()
                .transpose()
                .unwrap()
                .map(|(sort_key, _)| sort_key)
        };
        for i in 0..320 {
            for between in [false, true] {
                let point = member(i, between);
                for from in [
                    Bound::Included(point.as_slice()),
                    Bound::Excluded(point.as_slice()),
                ] {
                    let want = model.range::<[u8], _>((from, Bound::Unbounded)).next();
                    let got = first_from(from);
                    assert_eq!(got.as_ref(), want, "stage {stage}, from {from:?}");
                }
            }
        }
        let first = first_from(Bound::Unbounded);
        assert_eq!(first.as_ref(), model.first());
    }
}

/// A command that carries its batch's writes (see `Batch::let_next_carry`) hands them back
/// with its own when it commits, and as they were when it only read; one that fails after
/// writing refuses the whole batch, whose earlier commands' writes it held.
#[test]
fn a_batch_carried_by_a_command_that_failed_after_writing_is_refused() {
    let stored = |engine: &Engine, key: &[u8]| {
        let mut txn = engine.txn(Locks::Take, 0, &[key]);
        txn.get(key).unwrap().map(|meta| meta.value.to_vec())
    };
    for fails in [false, true] {
        let (_dir, engine) = open();
        let guard = Locks::Take.acquire(&engine, [b"a", b"b"].map(|k| key_slot(k)).into_iter());
        let batch = Batch::new(0);
        batch.let_next_carry(true);
        let mut first = engine.txn(guard.held(), 0, &[b"a"]).in_batch(Some(&batch));
        first.put(b"a", Meta::string(b"1".to_vec())).unwrap();
        first.commit().unwrap();
        // A read (GET, or a write command that found nothing to do) hands them back as is.
        batch.let_next_carry(true);
        let mut reader = engine.txn(guard.held(), 0, &[b"a"]).in_batch(Some(&batch));
        assert!(
            reader.get(b"a").unwrap().is_some(),
            "the carried write is read"
        );
        drop(reader);
        batch.let_next_carry(true);
        let mut last = engine.txn(guard.held(), 0, &[b"b"]).in_batch(Some(&batch));
        assert!(last.get(b"a").unwrap().is_some());
        last.put(b"b", Meta::string(b"2".to_vec())).unwrap();
        if fails {
            drop(last);
            assert!(matches!(
                batch.commit(&engine, guard),
                Err(EngineError::BatchAborted)
            ));
            assert_eq!(stored(&engine, b"a"), None);
            assert_eq!(stored(&engine, b"b"), None);
        } else {
            last.commit().unwrap();
            batch.commit(&engine, guard).unwrap();
            assert_eq!(stored(&engine, b"a"), Some(b"1".to_vec()));
            assert_eq!(stored(&engine, b"b"), Some(b"2".to_vec()));
        }
    }
}

/// The sub-row keys fjall itself holds under `prefix` (the write buffer aside).
fn stored_sort_keys(engine: &Engine, prefix: &[u8]) -> Vec<Vec<u8>> {
    engine
        .sub
        .keyspace
        .prefix(prefix)
        .map(|guard| guard.key().unwrap()[prefix.len()..].to_vec())
        .collect()
}

#[test]
fn compaction_removes_the_sub_rows_no_live_value_holds() {
    let (_dir, engine) = open();
    // A list of ten elements, a set, a set whose version was replaced and one whose key was
    // deleted, both without queueing a reclaim (so only compaction can remove their rows).
    let list_version = engine.new_version().unwrap();
    let seq = |i: u64| (1000 + i).to_be_bytes();
    let mut txn = engine.txn(Locks::Take, 0, &[b"l"]);
    let mut list = Meta::new(Kind::List, list_version);
    ListEnds {
        head: 1000,
        tail: 1010,
    }
    .write(&mut list);
    for i in 0..10 {
        txn.sub_put(b"l", list_version, &seq(i), vec![i as u8]);
    }
    txn.put(b"l", list.clone()).unwrap();
    txn.commit().unwrap();
    let kept = write_members(&engine, b"kept", 3);
    let replaced = write_members(&engine, b"replaced", 3);
    let emptied = write_members(&engine, b"emptied", 3);
    let mut txn = engine.txn(Locks::Take, 0, &[&b"replaced"[..], b"emptied"]);
    let mut meta = Meta::new(Kind::Set, engine.new_version().unwrap());
    meta.len = 1;
    txn.put(b"replaced", meta).unwrap();
    txn.delete_emptied(b"emptied", emptied).unwrap();
    txn.commit().unwrap();
    engine.flush_write_buffer().unwrap();

    // Pops of the last three elements, now in fjall, write no deletion.
    let mut txn = engine.txn(Locks::Take, 0, &[b"l"]);
    for i in (7..10).rev() {
        let ahead = seq(0);
        let taken = txn.sub_take(b"l", list_version, &seq(i), Some((&ahead, true)));
        assert_eq!(taken.unwrap(), Some(vec![i as u8]));
    }
    ListEnds {
        head: 1000,
        tail: 1007,
    }
    .write(&mut list);
    txn.put(b"l", list).unwrap();
    txn.commit().unwrap();
    engine.flush_write_buffer().unwrap();
    let prefix = |key: &[u8], version| sub_prefix(&meta_key(0, key), version);
    let list_prefix = prefix(b"l", list_version);
    assert_eq!(stored_sort_keys(&engine, &list_prefix).len(), 10);

    engine.sub.keyspace.major_compact().unwrap();
    let expected: Vec<Vec<u8>> = (0..7).map(|i| seq(i).to_vec()).collect();
    assert_eq!(stored_sort_keys(&engine, &list_prefix), expected);
    assert_eq!(stored_sort_keys(&engine, &prefix(b"kept", kept)).len(), 3);
    assert!(stored_sort_keys(&engine, &prefix(b"replaced", replaced)).is_empty());
    assert!(stored_sort_keys(&engine, &prefix(b"emptied", emptied)).is_empty());
}

/// Metadata rows read after the layer that wrote them went to fjall: the cache of rows read
/// from fjall follows each ingestion (cached rows, and cached absences, of the layer's keys,
/// short rows and long).
#[test]
fn metadata_reads_follow_ingested_layers() {
    let (_dir, engine) = open();
    let value_of = |key: &[u8]| {
        let mut txn = engine.txn(Locks::Take, 0, &[key]);
        txn.get_shared(key).unwrap().map(|meta| meta.value.to_vec())
    };
    // Cached as absent, from fjall.
    assert_eq!(value_of(b"k"), None);
    // Short rows are brought up to date in the cache; a long one is dropped from it.
    for value in [b"1".to_vec(), b"2".to_vec(), vec![b'x'; 300], b"3".to_vec()] {
        put_string(&engine, Locks::Take, b"k", &value, 0);
        engine.flush_write_buffer().unwrap();
        // Once from the cache as the ingestion left it, once more.
        for _ in 0..2 {
            assert_eq!(value_of(b"k"), Some(value.clone()));
        }
    }
    let mut txn = engine.txn(Locks::Take, 0, &[b"k"]);
    txn.delete(b"k").unwrap();
    txn.commit().unwrap();
    engine.flush_write_buffer().unwrap();
    assert_eq!(value_of(b"k"), None);
}
