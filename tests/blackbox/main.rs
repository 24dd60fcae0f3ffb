//! Black-box tests: each test starts the real `redyn` binary and talks to it over TCP with
//! the `redis` crate (or raw sockets for protocol-level cases).

// Not every test module uses every harness helper.
#[allow(dead_code)]
mod harness;

mod acl;
mod bits;
mod blocked_stats;
mod blocking;
mod changelog_groups;
mod chunked_strings;
mod config;
mod connection;
mod crashloop;
mod ddb;
mod ddb_docs;
mod ddb_http;
mod ddb_partiql;
mod ddb_tags;
mod debug;
mod disk_full;
mod dump;
mod geo;
mod hash;
mod hll;
mod inproc;
mod introspection;
mod introspection_keys;
mod keys;
mod limits;
mod list;
mod memory_budget;
mod metrics;
mod monitor;
mod multi_all;
mod network;
mod offload;
mod persistence;
mod pipeline;
mod protocol;
mod pubsub;
mod scripting;
mod server;
mod set;
mod smoke;
mod sort;
mod stream_dump;
mod streams;
mod strings;
mod table_streams;
mod tls;
mod tracking;
mod transactions;
mod write_path;
mod xstream;
mod xstream_group;
mod xstream_model;
mod zset;
