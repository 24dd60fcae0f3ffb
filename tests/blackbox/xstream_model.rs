//! A seeded randomized test: XADD, XTRIM, XDEL, XREADGROUP, XACK and XCLAIM against an
//! in-test model of the stream and its group, with a server restart half-way.

use std::collections::BTreeMap;

use redis::Value;

use crate::harness::{q, value, Rng, TestServer};
use crate::xstream::{entries, xread_reply};

type Id = (u64, u64);

fn parse_id(text: &str) -> Id {
    let (ms, seq) = text.split_once('-').unwrap();
    (ms.parse().unwrap(), seq.parse().unwrap())
}

fn fmt_id((ms, seq): Id) -> String {
    format!("{ms}-{seq}")
}

#[derive(Default)]
struct Model {
    entries: BTreeMap<Id, String>,
    group_last: Id,
    /// Pending entries: owner and delivery count.
    pel: BTreeMap<Id, (String, i64)>,
}

impl Model {
    /// Some ID to act on: mostly a live entry, sometimes a deleted or made-up one.
    fn pick_id(&self, rng: &mut Rng) -> Id {
        let live: Vec<Id> = self.entries.keys().copied().collect();
        if live.is_empty() || rng.below(4) == 0 {
            return (rng.below(40), 0);
        }
        live[rng.below(live.len() as u64) as usize]
    }

    fn pick_pending(&self, rng: &mut Rng) -> Id {
        let pending: Vec<Id> = self.pel.keys().copied().collect();
        if pending.is_empty() || rng.below(5) == 0 {
            return self.pick_id(rng);
        }
        pending[rng.below(pending.len() as u64) as usize]
    }

    fn trim_to(&mut self, maxlen: usize) {
        while self.entries.len() > maxlen {
            let first = *self.entries.keys().next().unwrap();
            self.entries.remove(&first);
        }
    }
}

fn step(c: &mut redis::Connection, rng: &mut Rng, model: &mut Model, n: usize) {
    let consumer = format!("c{}", rng.below(3));
    match rng.below(7) {
        0 | 1 => {
            let ms = n as u64 + 1;
            let payload = format!("v{n}");
            let id: String = if rng.below(3) == 0 {
                let maxlen = rng.below(8).to_string();
                let id: String = q(
                    c,
                    &[
                        "XADD",
                        "s",
                        "MAXLEN",
                        &maxlen,
                        &format!("{ms}-*"),
                        "f",
                        &payload,
                    ],
                );
                model.entries.insert(parse_id(&id), payload);
                model.trim_to(maxlen.parse().unwrap());
                id
            } else {
                let id: String = q(c, &["XADD", "s", &format!("{ms}-*"), "f", &payload]);
                model.entries.insert(parse_id(&id), payload);
                id
            };
            assert_eq!(parse_id(&id).0, ms);
        }
        2 => {
            if rng.below(2) == 0 {
                let maxlen = rng.below(10) as usize;
                let removed: i64 = q(c, &["XTRIM", "s", "MAXLEN", &maxlen.to_string()]);
                let before = model.entries.len();
                model.trim_to(maxlen);
                assert_eq!(removed as usize, before - model.entries.len());
            } else {
                let min = model.pick_id(rng);
                let removed: i64 = q(c, &["XTRIM", "s", "MINID", &fmt_id(min)]);
                let before = model.entries.len();
                model.entries.retain(|id, _| *id >= min);
                assert_eq!(removed as usize, before - model.entries.len());
            }
        }
        3 => {
            let id = model.pick_id(rng);
            let deleted: i64 = q(c, &["XDEL", "s", &fmt_id(id)]);
            assert_eq!(deleted, i64::from(model.entries.remove(&id).is_some()));
        }
        4 => {
            let count = rng.below(3) + 1;
            let reply = value(
                c,
                &[
                    "XREADGROUP",
                    "GROUP",
                    "g",
                    &consumer,
                    "COUNT",
                    &count.to_string(),
                    "STREAMS",
                    "s",
                    ">",
                ],
            );
            let got: Vec<Id> = xread_reply(&reply)
                .into_iter()
                .flat_map(|(_, ids)| ids)
                .map(|id| parse_id(&id))
                .collect();
            let last = model.group_last;
            let expected: Vec<Id> = model
                .entries
                .range((std::ops::Bound::Excluded(last), std::ops::Bound::Unbounded))
                .take(count as usize)
                .map(|(id, _)| *id)
                .collect();
            assert_eq!(got, expected);
            for id in expected {
                model.group_last = id;
                model.pel.insert(id, (consumer.clone(), 1));
            }
        }
        5 => {
            let id = model.pick_pending(rng);
            let acked: i64 = q(c, &["XACK", "s", "g", &fmt_id(id)]);
            assert_eq!(acked, i64::from(model.pel.remove(&id).is_some()));
        }
        _ => {
            let id = model.pick_pending(rng);
            let justid = rng.below(2) == 0;
            let mut args = vec!["XCLAIM", "s", "g", &consumer, "0"];
            let id_text = fmt_id(id);
            args.push(&id_text);
            if justid {
                args.push("JUSTID");
            }
            let reply = value(c, &args);
            let claimed = match &reply {
                Value::Array(items) => items.len(),
                other => panic!("bad XCLAIM reply {other:?}"),
            };
            let expected = match (model.pel.get(&id).cloned(), model.entries.contains_key(&id)) {
                (Some((_, count)), true) => {
                    let count = if justid { count } else { count + 1 };
                    model.pel.insert(id, (consumer.clone(), count));
                    1
                }
                (Some(_), false) => {
                    model.pel.remove(&id);
                    0
                }
                (None, _) => 0,
            };
            assert_eq!(claimed, expected);
        }
    }
}

fn check(c: &mut redis::Connection, model: &Model, n: usize) {
    let got: Vec<(Id, String)> = entries(&value(c, &["XRANGE", "s", "-", "+"]))
        .into_iter()
        .map(|(id, fields)| (parse_id(&id), fields[1].clone()))
        .collect();
    let expected: Vec<(Id, String)> = model.entries.iter().map(|(k, v)| (*k, v.clone())).collect();
    assert_eq!(got, expected, "entries after step {n}");
    assert_eq!(q::<i64>(c, &["XLEN", "s"]), model.entries.len() as i64);
    let pending: Vec<(String, String, i64, i64)> = q(c, &["XPENDING", "s", "g", "-", "+", "1000"]);
    let got: Vec<(Id, String, i64)> = pending
        .into_iter()
        .map(|(id, owner, _, count)| (parse_id(&id), owner, count))
        .collect();
    let expected: Vec<(Id, String, i64)> = model
        .pel
        .iter()
        .map(|(id, (owner, count))| (*id, owner.clone(), *count))
        .collect();
    assert_eq!(got, expected, "pending entries after step {n}");
}

#[test]
fn randomized_stream_and_group_operations_match_a_model_across_a_restart() {
    let mut server = TestServer::start();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut model = Model::default();
    let mut c = server.client();
    let _: () = q(&mut c, &["CONFIG", "SET", "stream-node-max-entries", "4"]);
    let _: () = q(&mut c, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    let steps = 800;
    for n in 0..steps {
        if n == steps / 2 {
            server.stop();
            server.restart();
            c = server.client();
            let _: () = q(&mut c, &["CONFIG", "SET", "stream-node-max-entries", "4"]);
        }
        step(&mut c, &mut rng, &mut model, n);
        check(&mut c, &model, n);
    }
}
