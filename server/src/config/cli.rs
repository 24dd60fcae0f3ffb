//! The command line, built from the settings table: `redyn [config-file] [--<setting> value]...`
//! (like `redis-server redis.conf --port 6380`). Every setting is a flag under its name and
//! its aliases; compatibility settings are accepted but hidden from `--help`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Arg, ArgMatches, Command};

use super::all_settings;

const CONFIG_FILE: &str = "config-file";

/// What the command line asked for; [`super::Config::from_cli`] applies it.
#[derive(Debug, Default, Clone)]
pub struct Cli {
    /// Config file in redis.conf syntax, read before the flags.
    pub config_file: Option<PathBuf>,
    /// `(setting name, value)` in command-line order.
    pub settings: Vec<(String, String)>,
}

impl Cli {
    /// The clap command: one `--<name>` flag per table setting.
    pub fn command() -> Command {
        let flags = all_settings().map(|s| {
            Arg::new(s.name)
                .long(s.name)
                .aliases(s.aliases)
                .value_name("VALUE")
                .help(s.help)
                .hide(s.is_compat())
                .num_args(1)
                // Negative numbers (`--list-max-listpack-size -2`) are values, not flags.
                .allow_hyphen_values(true)
        });
        Command::new("redyn")
            .version(env!("CARGO_PKG_VERSION"))
            .about("A Redis-protocol server on DynamoDB-style tables in fjall")
            // As with redis-server, a repeated flag means its last value.
            .args_override_self(true)
            .arg(
                Arg::new(CONFIG_FILE)
                    .value_name("CONFIG_FILE")
                    .value_parser(clap::value_parser!(PathBuf))
                    .help("Config file in redis.conf syntax (flags override it)"),
            )
            .args(flags)
    }

    /// Parses the process's arguments; exits with clap's message on errors and `--help`.
    pub fn parse() -> Cli {
        Cli::from_matches(&Cli::command().get_matches())
    }

    pub fn try_parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        Ok(Cli::from_matches(
            &Cli::command().try_get_matches_from(args)?,
        ))
    }

    fn from_matches(matches: &ArgMatches) -> Cli {
        let mut settings: Vec<(usize, String, String)> = all_settings()
            .filter_map(|s| {
                let index = matches.index_of(s.name)?;
                let value = matches.get_one::<String>(s.name)?;
                Some((index, s.name.to_string(), value.clone()))
            })
            .collect();
        settings.sort_by_key(|(index, _, _)| *index);
        Cli {
            config_file: matches.get_one::<PathBuf>(CONFIG_FILE).cloned(),
            settings: settings.into_iter().map(|(_, n, v)| (n, v)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_aliases_and_config_file() {
        let cli = Cli::try_parse_from([
            "redyn",
            "redis.conf",
            "--port",
            "0",
            "--hash-max-ziplist-value",
            "32",
            "--list-max-listpack-size",
            "-2",
            "--changelog-retention",
            "5",
        ])
        .unwrap();
        assert_eq!(cli.config_file, Some(PathBuf::from("redis.conf")));
        let expected = [
            ("port", "0"),
            ("hash-max-listpack-value", "32"),
            ("list-max-listpack-size", "-2"),
            ("changelog-retention", "5"),
        ];
        let got: Vec<(&str, &str)> = cli
            .settings
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(got, expected);
        assert!(Cli::try_parse_from(["redyn", "--no-such-flag", "1"]).is_err());
    }
}
