//! Geo commands: GEOADD scores equal to Redis's, GEOPOS/GEOHASH/GEODIST, the radius and box
//! searches with every option and error, and (when `redis-server` is installed) the same
//! points and queries answered side by side with real Redis.

use redis::Value;

use crate::harness::{error, q, value, RealRedis, Rng, TestServer};

fn bulk(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

fn sicily(c: &mut redis::Connection) {
    let added: i64 = q(
        c,
        &[
            "GEOADD",
            "Sicily",
            "13.361389",
            "38.115556",
            "Palermo",
            "15.087269",
            "37.502669",
            "Catania",
        ],
    );
    assert_eq!(added, 2);
}

#[test]
fn geoadd_stores_redis_scores_with_nx_xx_ch() {
    let server = TestServer::start();
    let mut c = server.client();
    sicily(&mut c);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "Sicily", "0", "-1", "WITHSCORES"]),
        ["Palermo", "3479099956230698", "Catania", "3479447370796909"]
    );
    // CH counts changed positions; an unchanged position is no change.
    assert_eq!(
        q::<i64>(
            &mut c,
            &[
                "GEOADD",
                "Sicily",
                "CH",
                "13.361389",
                "38.1",
                "Palermo",
                "1",
                "1",
                "new"
            ]
        ),
        2
    );
    assert_eq!(
        q::<i64>(&mut c, &["GEOADD", "Sicily", "CH", "1", "1", "new"]),
        0
    );
    assert_eq!(
        q::<i64>(
            &mut c,
            &["GEOADD", "Sicily", "NX", "CH", "2", "2", "new", "3", "3", "nx"]
        ),
        1
    );
    assert_eq!(
        q::<i64>(
            &mut c,
            &["GEOADD", "Sicily", "XX", "2", "2", "new", "4", "4", "xx"]
        ),
        0
    );
    assert_eq!(value(&mut c, &["ZSCORE", "Sicily", "xx"]), Value::Nil);
    assert_eq!(q::<i64>(&mut c, &["ZCARD", "Sicily"]), 4);
    assert_eq!(
        q::<i64>(&mut c, &["GEOADD", "none", "XX", "1", "1", "a"]),
        0
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "none"]), 0);

    assert_eq!(
        error(&mut c, &["GEOADD", "Sicily", "200", "100", "x"]),
        "ERR invalid longitude,latitude pair 200.000000,100.000000"
    );
    assert_eq!(
        error(&mut c, &["GEOADD", "Sicily", "1", "86", "x"]),
        "ERR invalid longitude,latitude pair 1.000000,86.000000"
    );
    assert_eq!(
        error(&mut c, &["GEOADD", "Sicily", "XX", "NX", "1", "1", "x"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut c, &["GEOADD", "Sicily", "XX", "1", "1"]),
        "ERR syntax error"
    );
    assert_eq!(
        error(&mut c, &["GEOADD", "Sicily", "a", "1", "x"]),
        "ERR value is not a valid float"
    );
    assert_eq!(
        error(&mut c, &["GEOADD", "Sicily", "1", "1"]),
        "ERR wrong number of arguments for 'geoadd' command"
    );
    // A bad point anywhere rejects the whole command.
    assert_eq!(
        error(
            &mut c,
            &["GEOADD", "Sicily", "5", "5", "ok", "500", "5", "bad"]
        ),
        "ERR invalid longitude,latitude pair 500.000000,5.000000"
    );
    assert_eq!(value(&mut c, &["ZSCORE", "Sicily", "ok"]), Value::Nil);
    let _: () = q(&mut c, &["SET", "str", "x"]);
    assert!(error(&mut c, &["GEOADD", "str", "1", "1", "a"]).starts_with("WRONGTYPE"));
}

#[test]
fn geopos_geohash_geodist() {
    let server = TestServer::start();
    let mut c = server.client();
    sicily(&mut c);
    assert_eq!(
        value(&mut c, &["GEOPOS", "Sicily", "Palermo", "nope"]),
        Value::Array(vec![
            Value::Array(vec![
                bulk("13.36138933897018433"),
                bulk("38.11555639549629859")
            ]),
            Value::Nil,
        ])
    );
    assert_eq!(
        value(&mut c, &["GEOPOS", "missing", "a"]),
        Value::Array(vec![Value::Nil])
    );
    assert_eq!(value(&mut c, &["GEOPOS", "Sicily"]), Value::Array(vec![]));
    assert_eq!(
        value(&mut c, &["GEOHASH", "Sicily", "Palermo", "Catania", "nope"]),
        Value::Array(vec![bulk("sqc8b49rny0"), bulk("sqdtr74hyu0"), Value::Nil])
    );
    assert_eq!(
        q::<String>(&mut c, &["GEODIST", "Sicily", "Palermo", "Catania"]),
        "166274.1516"
    );
    assert_eq!(
        q::<String>(&mut c, &["GEODIST", "Sicily", "Palermo", "Catania", "KM"]),
        "166.2742"
    );
    assert_eq!(
        q::<String>(&mut c, &["GEODIST", "Sicily", "Palermo", "Catania", "mi"]),
        "103.3182"
    );
    assert_eq!(
        q::<String>(&mut c, &["GEODIST", "Sicily", "Palermo", "Catania", "ft"]),
        "545518.8700"
    );
    assert_eq!(
        value(&mut c, &["GEODIST", "Sicily", "Palermo", "nope"]),
        Value::Nil
    );
    assert_eq!(value(&mut c, &["GEODIST", "missing", "a", "b"]), Value::Nil);
    assert_eq!(
        error(&mut c, &["GEODIST", "Sicily", "Palermo", "Catania", "yd"]),
        "ERR unsupported unit provided. please use M, KM, FT, MI"
    );
    assert_eq!(
        error(
            &mut c,
            &["GEODIST", "Sicily", "Palermo", "Catania", "km", "x"]
        ),
        "ERR syntax error"
    );
    let _: () = q(&mut c, &["SET", "str", "x"]);
    for cmd in [
        &["GEOPOS", "str", "a"][..],
        &["GEOHASH", "str", "a"],
        &["GEODIST", "str", "a", "b"],
    ] {
        assert!(error(&mut c, cmd).starts_with("WRONGTYPE"), "{cmd:?}");
    }
}

#[test]
fn georadius_options() {
    let server = TestServer::start();
    let mut c = server.client();
    sicily(&mut c);
    let all = ["GEORADIUS", "Sicily", "15", "37", "200", "km"];
    assert_eq!(q::<Vec<String>>(&mut c, &all), ["Palermo", "Catania"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &[&all[..], &["DESC"]].concat()),
        ["Palermo", "Catania"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &[&all[..], &["ASC"]].concat()),
        ["Catania", "Palermo"]
    );
    // COUNT without an order sorts ascending; COUNT ANY stops at the first found.
    assert_eq!(
        q::<Vec<String>>(&mut c, &[&all[..], &["COUNT", "1"]].concat()),
        ["Catania"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &[&all[..], &["COUNT", "1", "ANY"]].concat()),
        ["Palermo"]
    );
    assert_eq!(
        value(
            &mut c,
            &[&all[..], &["WITHDIST", "WITHHASH", "WITHCOORD", "ASC"]].concat()
        ),
        Value::Array(vec![
            Value::Array(vec![
                bulk("Catania"),
                bulk("56.4413"),
                Value::Int(3479447370796909),
                Value::Array(vec![
                    bulk("15.08726745843887329"),
                    bulk("37.50266842333162032")
                ]),
            ]),
            Value::Array(vec![
                bulk("Palermo"),
                bulk("190.4424"),
                Value::Int(3479099956230698),
                Value::Array(vec![
                    bulk("13.36138933897018433"),
                    bulk("38.11555639549629859")
                ]),
            ]),
        ])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["GEORADIUS_RO", "Sicily", "15", "37", "100", "km"]),
        ["Catania"]
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &["GEORADIUSBYMEMBER", "Sicily", "Palermo", "170", "km", "ASC"]
        ),
        ["Palermo", "Catania"]
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &["GEORADIUSBYMEMBER_RO", "Sicily", "Palermo", "1", "km"]
        ),
        ["Palermo"]
    );
    assert_eq!(
        value(&mut c, &["GEORADIUS", "missing", "15", "37", "200", "km"]),
        Value::Array(vec![])
    );
    // A missing key answers before the member or the radius is looked at.
    assert_eq!(
        value(&mut c, &["GEORADIUSBYMEMBER", "missing", "m", "-1", "km"]),
        Value::Array(vec![])
    );

    // STORE keeps geohash scores, STOREDIST distances in the unit.
    assert_eq!(q::<i64>(&mut c, &[&all[..], &["STORE", "dst"]].concat()), 2);
    assert_eq!(
        q::<String>(&mut c, &["ZSCORE", "dst", "Catania"]),
        "3479447370796909"
    );
    assert_eq!(
        q::<i64>(
            &mut c,
            &[&all[..], &["COUNT", "1", "STOREDIST", "dist"]].concat()
        ),
        1
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "dist", "0", "-1", "WITHSCORES"]),
        ["Catania", "56.441257870158204"]
    );
    assert_eq!(
        q::<i64>(
            &mut c,
            &["GEORADIUS", "Sicily", "0", "0", "1", "m", "STORE", "dst"]
        ),
        0
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "dst"]), 0);
    let _: i64 = q(&mut c, &["ZADD", "dst", "1", "x"]);
    assert_eq!(
        q::<i64>(
            &mut c,
            &[
                "GEORADIUSBYMEMBER",
                "missing",
                "m",
                "1",
                "km",
                "STORE",
                "dst"
            ]
        ),
        0
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "dst"]), 0);

    let errors: &[(&[&str], &str)] = &[
        (&["GEORADIUS", "Sicily", "200", "100", "1", "km"], "ERR invalid longitude,latitude pair 200.000000,100.000000"),
        (&["GEORADIUS", "Sicily", "15", "37", "-1", "km"], "ERR radius cannot be negative"),
        (&["GEORADIUS", "Sicily", "15", "37", "a", "km"], "ERR need numeric radius"),
        (&["GEORADIUS", "Sicily", "15", "37", "1", "kmm"], "ERR unsupported unit provided. please use M, KM, FT, MI"),
        (&["GEORADIUS", "Sicily", "15", "37", "1", "km", "COUNT", "0"], "ERR COUNT must be > 0"),
        (&["GEORADIUS", "Sicily", "15", "37", "1", "km", "COUNT", "a"], "ERR value is not an integer or out of range"),
        (&["GEORADIUS", "Sicily", "15", "37", "1", "km", "COUNT"], "ERR syntax error"),
        (&["GEORADIUS", "Sicily", "15", "37", "1", "km", "ANY"], "ERR the ANY argument requires COUNT argument"),
        (&["GEORADIUS", "Sicily", "15", "37", "1", "km", "STORE"], "ERR syntax error"),
        (&["GEORADIUS", "Sicily", "15", "37", "1", "km", "FROMMEMBER", "x"], "ERR syntax error"),
        (&["GEORADIUS_RO", "Sicily", "15", "37", "1", "km", "STORE", "x"], "ERR syntax error"),
        (&["GEORADIUSBYMEMBER_RO", "Sicily", "Palermo", "1", "km", "STOREDIST", "x"], "ERR syntax error"),
        (&["GEORADIUS", "Sicily", "15", "37", "1", "km", "STORE", "x", "WITHDIST"], "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options"),
        (&["GEORADIUSBYMEMBER", "Sicily", "nope", "1", "km"], "ERR could not decode requested zset member"),
        (&["GEORADIUSBYMEMBER", "Sicily", "nope", "-1", "km"], "ERR could not decode requested zset member"),
    ];
    for (cmd, expected) in errors {
        assert_eq!(&error(&mut c, cmd), expected, "{cmd:?}");
    }
    let _: () = q(&mut c, &["SET", "str", "x"]);
    assert!(error(&mut c, &["GEORADIUS", "str", "500", "1", "1", "km"]).starts_with("WRONGTYPE"));
}

#[test]
fn geosearch_and_geosearchstore() {
    let server = TestServer::start();
    let mut c = server.client();
    sicily(&mut c);
    let _: i64 = q(
        &mut c,
        &[
            "GEOADD",
            "Sicily",
            "12.758489",
            "38.788135",
            "edge1",
            "17.241510",
            "38.788135",
            "edge2",
        ],
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &[
                "GEOSEARCH",
                "Sicily",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "200",
                "km",
                "ASC"
            ]
        ),
        ["Catania", "Palermo"]
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &[
                "GEOSEARCH",
                "Sicily",
                "FROMLONLAT",
                "15",
                "37",
                "BYBOX",
                "400",
                "400",
                "km",
                "ASC"
            ]
        ),
        ["Catania", "Palermo", "edge2", "edge1"]
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &[
                "GEOSEARCH",
                "Sicily",
                "FROMMEMBER",
                "Catania",
                "BYBOX",
                "10",
                "10",
                "km"
            ]
        ),
        ["Catania"]
    );
    assert_eq!(
        value(
            &mut c,
            &[
                "GEOSEARCH",
                "Sicily",
                "FROMLONLAT",
                "15",
                "37",
                "BYBOX",
                "400",
                "400",
                "km",
                "DESC",
                "COUNT",
                "1",
                "WITHDIST"
            ]
        ),
        Value::Array(vec![Value::Array(vec![bulk("edge1"), bulk("279.7405")])])
    );
    assert_eq!(
        value(
            &mut c,
            &[
                "GEOSEARCH",
                "missing",
                "FROMMEMBER",
                "x",
                "BYRADIUS",
                "1",
                "km"
            ]
        ),
        Value::Array(vec![])
    );
    assert_eq!(
        q::<i64>(
            &mut c,
            &[
                "GEOSEARCHSTORE",
                "dst",
                "Sicily",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "200",
                "km"
            ]
        ),
        2
    );
    assert_eq!(
        q::<String>(&mut c, &["ZSCORE", "dst", "Palermo"]),
        "3479099956230698"
    );
    assert_eq!(
        q::<i64>(
            &mut c,
            &[
                "GEOSEARCHSTORE",
                "dst",
                "Sicily",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "200",
                "km",
                "STOREDIST",
                "COUNT",
                "1"
            ]
        ),
        1
    );
    assert_eq!(
        q::<String>(&mut c, &["ZSCORE", "dst", "Catania"]),
        "56.441257870158204"
    );
    assert_eq!(
        q::<i64>(
            &mut c,
            &[
                "GEOSEARCHSTORE",
                "dst",
                "missing",
                "FROMMEMBER",
                "x",
                "BYRADIUS",
                "1",
                "km"
            ]
        ),
        0
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "dst"]), 0);

    let base = ["GEOSEARCH", "Sicily"];
    let errors: &[(&[&str], &str)] = &[
        (
            &[
                "FROMLONLAT",
                "15",
                "37",
                "FROMMEMBER",
                "Palermo",
                "BYRADIUS",
                "1",
                "km",
            ],
            "ERR syntax error",
        ),
        (
            &[
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "1",
                "km",
                "BYBOX",
                "1",
                "1",
                "km",
            ],
            "ERR syntax error",
        ),
        (
            &["BYBOX", "3", "3", "km", "ASC", "DESC", "WITHHASH"],
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GEOSEARCH",
        ),
        (
            &["FROMLONLAT", "15", "37", "ASC", "DESC", "WITHHASH"],
            "ERR exactly one of BYRADIUS and BYBOX can be specified for GEOSEARCH",
        ),
        (
            &[
                "FROMLONLAT",
                "15",
                "37",
                "BYBOX",
                "1",
                "1",
                "km",
                "STOREDIST",
            ],
            "ERR syntax error",
        ),
        (
            &[
                "FROMLONLAT",
                "15",
                "37",
                "BYBOX",
                "1",
                "1",
                "km",
                "STORE",
                "x",
            ],
            "ERR syntax error",
        ),
        (
            &["FROMLONLAT", "15", "37", "BYBOX", "-1", "1", "km"],
            "ERR height or width cannot be negative",
        ),
        (
            &["FROMLONLAT", "15", "37", "BYBOX", "a", "1", "km"],
            "ERR need numeric width",
        ),
        (
            &["FROMLONLAT", "15", "37", "BYBOX", "1", "a", "km"],
            "ERR need numeric height",
        ),
        (
            &["FROMMEMBER", "nope", "BYBOX", "1", "1", "km"],
            "ERR could not decode requested zset member",
        ),
        (
            &["FROMLONLAT", "15", "37", "BYBOX", "1", "1", "km", "ANY"],
            "ERR the ANY argument requires COUNT argument",
        ),
    ];
    for (rest, expected) in errors {
        let cmd = [&base[..], rest].concat();
        assert_eq!(&error(&mut c, &cmd), expected, "{cmd:?}");
    }
    assert_eq!(
        error(
            &mut c,
            &[
                "GEOSEARCHSTORE",
                "d",
                "Sicily",
                "FROMLONLAT",
                "15",
                "37",
                "BYBOX",
                "1",
                "1",
                "km",
                "WITHDIST"
            ]
        ),
        "ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
    );
    assert_eq!(
        error(&mut c, &["GEOSEARCH", "Sicily", "FROMLONLAT", "15"]),
        "ERR wrong number of arguments for 'geosearch' command"
    );
}

#[test]
fn resp3_coordinates_are_doubles() {
    let server = TestServer::start();
    let mut c = server.client_resp3();
    sicily(&mut c);
    assert_eq!(
        value(&mut c, &["GEOPOS", "Sicily", "Palermo", "nope"]),
        Value::Array(vec![
            Value::Array(vec![
                Value::Double(13.361389338970184),
                Value::Double(38.1155563954963)
            ]),
            Value::Nil,
        ])
    );
    // Distances stay strings, as in Redis.
    assert_eq!(
        value(&mut c, &["GEODIST", "Sicily", "Palermo", "Catania"]),
        bulk("166274.1516")
    );
}

#[test]
fn same_scores_and_answers_as_real_redis() {
    let Some(real) = RealRedis::start() else {
        eprintln!("redis-server not installed: skipping the side-by-side geo check");
        return;
    };
    let server = TestServer::start();
    let (mut ours, mut theirs) = (server.client(), real.client());
    let mut rng = Rng(0x9e3779b97f4a7c15);
    // Points around a few centres, including near a pole and the antimeridian.
    let centres = [
        (13.5, 38.0),
        (179.9, 10.0),
        (-179.9, -10.0),
        (0.0, 84.9),
        (-73.98, 40.75),
    ];
    let mut add = vec!["GEOADD".to_string(), "pts".to_string()];
    for i in 0..2000 {
        let (lon, lat) = centres[i % centres.len()];
        let lon = (lon + rng.between(-3.0, 3.0)).clamp(-180.0, 180.0);
        let lat = (lat + rng.between(-3.0, 3.0)).clamp(-85.05, 85.05);
        add.extend([format!("{lon}"), format!("{lat}"), format!("p{i}")]);
    }
    let add: Vec<&str> = add.iter().map(String::as_str).collect();
    assert_eq!(q::<i64>(&mut ours, &add), q::<i64>(&mut theirs, &add));
    let range = ["ZRANGE", "pts", "0", "-1", "WITHSCORES"];
    assert_eq!(
        q::<Vec<String>>(&mut ours, &range),
        q::<Vec<String>>(&mut theirs, &range)
    );
    let members: Vec<String> = (0..50).map(|i| format!("p{}", i * 37)).collect();
    for cmd in ["GEOPOS", "GEOHASH"] {
        let mut args = vec![cmd, "pts"];
        args.extend(members.iter().map(String::as_str));
        assert_eq!(value(&mut ours, &args), value(&mut theirs, &args), "{cmd}");
    }
    for pair in members.windows(2) {
        let args = ["GEODIST", "pts", &pair[0], &pair[1], "km"];
        assert_eq!(value(&mut ours, &args), value(&mut theirs, &args));
    }
    for (n, (lon, lat)) in centres.iter().enumerate() {
        for (radius, unit) in [("50", "km"), ("200", "km"), ("100", "mi"), ("1500", "km")] {
            let (lon, lat) = (lon.to_string(), lat.to_string());
            let queries: Vec<Vec<&str>> = vec![
                vec![
                    "GEOSEARCH",
                    "pts",
                    "FROMLONLAT",
                    &lon,
                    &lat,
                    "BYRADIUS",
                    radius,
                    unit,
                    "ASC",
                    "WITHDIST",
                    "WITHHASH",
                ],
                vec![
                    "GEOSEARCH",
                    "pts",
                    "FROMLONLAT",
                    &lon,
                    &lat,
                    "BYBOX",
                    radius,
                    radius,
                    unit,
                    "DESC",
                    "WITHCOORD",
                ],
                vec!["GEORADIUS", "pts", &lon, &lat, radius, unit, "COUNT", "7"],
                vec![
                    "GEORADIUSBYMEMBER",
                    "pts",
                    &members[n],
                    radius,
                    unit,
                    "ASC",
                    "WITHDIST",
                ],
            ];
            for query in queries {
                assert_eq!(
                    value(&mut ours, &query),
                    value(&mut theirs, &query),
                    "{query:?}"
                );
            }
        }
    }
}
