use std::collections::HashSet;

use super::*;

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[test]
fn names_and_aliases_are_unique() {
    let mut seen = HashSet::new();
    for name in all_settings().flat_map(Setting::names) {
        assert_eq!(name, name.to_ascii_lowercase(), "{name} must be lower case");
        assert!(seen.insert(name), "{name} is declared twice");
    }
}

/// default → get → set → get: every table entry's default is valid, reported in a form
/// that is itself accepted, and stable from then on.
#[test]
fn every_setting_round_trips() {
    let mut config = Config::default();
    for setting in all_settings() {
        let reported = config.value_of(setting);
        assert_eq!(
            config.value_of(setting),
            Config::default().get(setting.name).unwrap()
        );
        config
            .set(setting.name, &reported)
            .unwrap_or_else(|e| panic!("{}: reported value {reported:?}: {e}", setting.name));
        assert_eq!(config.value_of(setting), reported, "{}", setting.name);
        for alias in setting.aliases {
            assert_eq!(config.get(alias).unwrap(), reported, "{alias}");
        }
    }
}

#[test]
fn defaults_match_the_components_they_configure() {
    let c = Config::default();
    assert_eq!(c.port, 6379);
    assert_eq!(c.appendfsync, AppendFsync::EverySec);
    assert_eq!(
        c.proto_max_bulk_len,
        redyn_protocol::request::DEFAULT_MAX_BULK_LEN
    );
    assert_eq!(c.output_limits.pubsub, OutputLimit::default());
    let autoscale = AutoscaleConfig::default();
    assert_eq!(c.autoscale.split_ops, autoscale.split_ops);
    assert_eq!(c.autoscale.window, autoscale.window);
    assert_eq!(c.autoscale.cooldown, autoscale.cooldown);
    assert_eq!(c.autoscale.min_shards, autoscale.min_shards);
    assert_eq!(c.autoscale.max_shards, autoscale.max_shards);
    assert_eq!(c.changelog_retention_secs, 86400);
    assert_eq!(c.get("appendonly").unwrap(), "yes");
}

#[test]
fn config_file_then_flags() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("redis.conf");
    std::fs::write(
        &path,
        "# comment\nport 7000\nappendfsync always\nrequirepass \"s3 cret\"\nsave 900 1\n\
         daemonize no\nhash-max-ziplist-entries 256\n",
    )
    .unwrap();
    let cli = Cli::try_parse_from([
        "redyn".as_ref(),
        path.as_os_str(),
        "--port".as_ref(),
        "7001".as_ref(),
    ])
    .unwrap();
    let c = Config::from_cli(cli).unwrap();
    assert_eq!(c.port, 7001);
    assert_eq!(c.appendfsync, AppendFsync::Always);
    assert_eq!(c.requirepass.as_deref(), Some("s3 cret"));
    assert_eq!(c.get("save").unwrap(), "900 1");
    assert_eq!(c.get("hash-max-listpack-entries").unwrap(), "256");
    assert_eq!(c.config_file.as_deref(), Some(path.as_path()));
}

#[test]
fn bad_config_file_lines_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("redis.conf");
    std::fs::write(&path, "port 7000\nno-such-directive 1\n").unwrap();
    let err = Config::default().load_file(&path).unwrap_err();
    assert!(err.starts_with("line 2: 'no-such-directive'"), "{err}");
    std::fs::write(&path, "maxclients many\n").unwrap();
    let err = Config::default().load_file(&path).unwrap_err();
    assert!(err.contains("couldn't be parsed into an integer"), "{err}");
}

#[test]
fn rewritten_file_reads_back_to_the_same_config() {
    let mut c = Config::default();
    c.set_runtime(&pairs(&[
        ("requirepass", "p\"w d"),
        ("save", "60 10"),
        ("client-output-buffer-limit", "pubsub 1mb 512kb 9"),
        ("maxmemory-policy", "allkeys-lru"),
    ]))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("redis.conf");
    std::fs::write(&path, c.to_file_text()).unwrap();
    let mut back = Config::default();
    back.load_file(&path).unwrap();
    for setting in all_settings() {
        assert_eq!(
            back.value_of(setting),
            c.value_of(setting),
            "{}",
            setting.name
        );
    }
}

#[test]
fn runtime_set_follows_redis_rules() {
    let mut c = Config::default();
    c.set_runtime(&pairs(&[
        ("changelog-retention", "100"),
        ("MAXCLIENTS", "7"),
    ]))
    .unwrap();
    assert_eq!(c.get("changelog-retention").unwrap(), "100");
    assert_eq!(c.maxclients, 7);

    let err = c.set_runtime(&pairs(&[("port", "1")])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "CONFIG SET failed (possibly related to argument 'port') - can't set immutable config"
    );
    let err = c
        .set_runtime(&pairs(&[("port", "1"), ("nosuch", "1")]))
        .unwrap_err();
    assert_eq!(err, SetError::Unknown("nosuch".into()));
    let err = c
        .set_runtime(&pairs(&[
            ("hash-max-ziplist-value", "1"),
            ("hash-max-listpack-value", "2"),
        ]))
        .unwrap_err();
    assert!(err.to_string().ends_with("- duplicate parameter"), "{err}");

    // One bad pair: nothing changes.
    let before = c.clone();
    let err = c
        .set_runtime(&pairs(&[("maxclients", "9"), ("appendfsync", "sometimes")]))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: always, everysec, no"
    );
    assert_eq!(c.maxclients, before.maxclients);
    assert_eq!(c.appendfsync, before.appendfsync);
}

#[test]
fn get_matching_uses_globs_and_aliases() {
    let c = Config::default();
    let names = |pattern: &str| -> Vec<String> {
        c.get_matching(pattern)
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    };
    let append = names("append*");
    assert!(append.contains(&"appendfsync".to_string()));
    assert!(append.contains(&"appendonly".to_string()));
    let hash = names("hash-max-*");
    assert!(hash.contains(&"hash-max-ziplist-value".to_string()));
    assert!(hash.contains(&"hash-max-listpack-value".to_string()));
    assert_eq!(names("hash-max-ziplist-value"), ["hash-max-ziplist-value"]);
    assert!(names("nosuch").is_empty());
}
