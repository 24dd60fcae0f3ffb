//! The hot cache of metadata rows.
//!
//! Every command starts by reading its keys' metadata rows. A point read in fjall's memtable
//! (a large concurrent skiplist) costs a chain of cache misses; this cache keeps recently
//! used rows decoded in memory, including "absent" answers. It is coherent because metadata
//! rows change only through `Txn::commit`, which runs under the shard locks of the keys it
//! touches and refreshes the cache right after its batch is durable in fjall; FLUSHALL clears
//! it together with the keyspaces.

use std::sync::Arc;

use quick_cache::sync::Cache;
use quick_cache::Weighter;

use super::meta::Meta;

/// A cached metadata row: `None` caches "no such key".
pub type CachedMeta = Option<Arc<Meta>>;

#[derive(Clone)]
struct ByteWeight;

impl Weighter<Vec<u8>, CachedMeta> for ByteWeight {
    fn weight(&self, key: &Vec<u8>, value: &CachedMeta) -> u64 {
        // Key, value and a fixed overhead for the entry and the Meta struct.
        (key.len() + value.as_ref().map_or(0, |m| m.value.len()) + 96) as u64
    }
}

pub struct MetaCache {
    cache: Cache<Vec<u8>, CachedMeta, ByteWeight>,
}

impl MetaCache {
    /// A cache holding up to about `bytes` of metadata.
    pub fn new(bytes: u64) -> MetaCache {
        let estimated_items = (bytes / 160).max(1024) as usize;
        MetaCache {
            cache: Cache::with_weighter(estimated_items, bytes.max(1), ByteWeight),
        }
    }

    pub fn get(&self, meta_key: &[u8]) -> Option<CachedMeta> {
        self.cache.get(meta_key)
    }

    pub fn put(&self, meta_key: Vec<u8>, meta: CachedMeta) {
        self.cache.insert(meta_key, meta);
    }

    pub fn clear(&self) {
        self.cache.clear();
    }
}
