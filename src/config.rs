//! The configuration file (`--config FILE`, or `DINGDIAN_CONFIG`): TOML with one optional key
//! per setting, named as its flag without the dashes and with `_` (`--db-max-connections` is
//! `db_max_connections`).
//!
//! The file's values become the defaults of the matching clap arguments, in every subcommand
//! that has them, before the command line is parsed; clap then applies its own order, so a
//! command-line flag beats its environment variable, which beats the file, which beats the
//! built-in default. Validation stays where it is (the clap value parsers, `NetArgs::config`):
//! a value from the file is checked exactly like the same value on the command line.
//!
//! Not responsible for what a setting means; that is `main.rs`'s argument structs.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Command, ValueEnum};
use serde::Deserialize;

/// The environment variable naming the configuration file.
pub const ENV: &str = "DINGDIAN_CONFIG";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Text with colours on a terminal, JSON lines otherwise.
    #[default]
    Auto,
    Json,
    Text,
}

/// Every key of the configuration file. Unknown keys are an error (a misspelt key would
/// otherwise be silently ignored).
#[derive(Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub addr: Option<SocketAddr>,
    pub migrate: Option<bool>,
    pub demo: Option<bool>,
    pub log_format: Option<LogFormat>,
    pub data_dir: Option<PathBuf>,
    pub database: Option<String>,
    pub db_max_connections: Option<u32>,
    pub db_acquire_timeout: Option<u64>,
    pub policy_dir: Option<PathBuf>,
    pub files_dir: Option<PathBuf>,
    pub spool_dir: Option<PathBuf>,
    pub s3: Option<String>,
    pub s3_timeout: Option<u64>,
    pub s3_connect_timeout: Option<u64>,
    pub smtp: Option<String>,
    pub smtp_from: Option<String>,
    pub trusted_proxies: Option<Vec<String>>,
    pub header_timeout: Option<u64>,
    pub body_idle_timeout: Option<u64>,
    pub drain: Option<u64>,
    pub metrics_token: Option<String>,
}

/// Keys whose values must not appear in `--help`.
const SECRET: &[&str] = &["database", "metrics_token"];

impl FileConfig {
    /// Reads and checks a configuration file. The error is one line naming the file and, for
    /// bad content, the line.
    pub fn load(path: &Path) -> Result<FileConfig, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the configuration file {}: {e}", path.display()))?;
        FileConfig::parse(&path.display().to_string(), &text)
    }

    /// Parses the text of a configuration file named `name` (for messages).
    pub fn parse(name: &str, text: &str) -> Result<FileConfig, String> {
        let config: FileConfig = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| text.as_bytes()[..s.start.min(text.len())].iter().filter(|b| **b == b'\n').count() + 1);
            let at = line.map(|l| format!(":{l}")).unwrap_or_default();
            format!("configuration file {name}{at}: {}", e.message().trim().replace('\n', " "))
        })?;
        if config.s3.is_some() && config.files_dir.is_some() {
            return Err(format!("configuration file {name}: set either s3 or files_dir, not both"));
        }
        Ok(config)
    }

    /// The file's values as (clap argument id, value) pairs.
    pub fn defaults(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut put = |id: &'static str, v: Option<String>| {
            if let Some(v) = v {
                out.push((id, v));
            }
        };
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
        let text = |v: &Option<String>| v.clone();
        put("addr", self.addr.map(|a| a.to_string()));
        put("migrate", self.migrate.map(|b| b.to_string()));
        put("demo", self.demo.map(|b| b.to_string()));
        put("log_format", self.log_format.and_then(|f| f.to_possible_value()).map(|v| v.get_name().to_owned()));
        put("data_dir", path(&self.data_dir));
        put("database", text(&self.database));
        put("db_max_connections", self.db_max_connections.map(|n| n.to_string()));
        put("db_acquire_timeout", self.db_acquire_timeout.map(|n| n.to_string()));
        put("policy_dir", path(&self.policy_dir));
        put("files_dir", path(&self.files_dir));
        put("spool_dir", path(&self.spool_dir));
        put("s3", text(&self.s3));
        put("s3_timeout", self.s3_timeout.map(|n| n.to_string()));
        put("s3_connect_timeout", self.s3_connect_timeout.map(|n| n.to_string()));
        put("smtp", text(&self.smtp));
        put("smtp_from", text(&self.smtp_from));
        put("trusted_proxies", self.trusted_proxies.as_ref().map(|p| p.join(",")));
        put("header_timeout", self.header_timeout.map(|n| n.to_string()));
        put("body_idle_timeout", self.body_idle_timeout.map(|n| n.to_string()));
        put("drain", self.drain.map(|n| n.to_string()));
        put("metrics_token", text(&self.metrics_token));
        out
    }
}

/// The configuration file named on the command line (`--config FILE` or `--config=FILE`,
/// anywhere before `--`), else by `DINGDIAN_CONFIG`. Read before clap parses, because the
/// file's values are clap's defaults.
pub fn path(args: &[OsString]) -> Option<PathBuf> {
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        if a == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(p) = a.to_str().and_then(|s| s.strip_prefix("--config=")) {
            return Some(PathBuf::from(p));
        }
    }
    std::env::var_os(ENV).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// Makes the file's values the defaults of the arguments with the same id, in `cmd` and every
/// subcommand below it.
pub fn apply(cmd: Command, defaults: &[(&'static str, String)]) -> Command {
    cmd.mut_args(|arg| match defaults.iter().find(|(id, _)| arg.get_id() == *id) {
        Some((id, value)) => arg.default_value(value.clone()).hide_default_value(SECRET.contains(id)),
        None => arg,
    })
    .mut_subcommands(|sub| apply(sub, defaults))
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches};

    use super::*;
    use crate::{Cli, Cmd, UserCmd};

    fn parse(config: &str, args: &[&str]) -> Cli {
        let file = FileConfig::parse("test.toml", config).expect("valid file");
        let matches = apply(Cli::command(), &file.defaults()).try_get_matches_from(args).expect("valid arguments");
        Cli::from_arg_matches(&matches).expect("matches")
    }

    fn serve_drain_and_addr(cli: Cli) -> (u64, String) {
        match cli.command {
            Cmd::Serve { net, addr, .. } => (net.drain, addr.to_string()),
            _ => panic!("not serve"),
        }
    }

    // Precedence: command line > (environment, tested in tests/config.rs) > file > built-in.
    #[test]
    fn flag_beats_file_beats_builtin_default() {
        let file = "drain = 7\naddr = \"127.0.0.1:9999\"\n";
        assert_eq!(serve_drain_and_addr(parse("", &["dingdian", "serve"])), (30, "127.0.0.1:8080".into()));
        assert_eq!(serve_drain_and_addr(parse(file, &["dingdian", "serve"])), (7, "127.0.0.1:9999".into()));
        assert_eq!(serve_drain_and_addr(parse(file, &["dingdian", "serve", "--drain", "3"])), (3, "127.0.0.1:9999".into()));
    }

    #[test]
    fn file_values_reach_nested_subcommands() {
        let cli = parse("data_dir = \"/srv/dd\"\ndb_max_connections = 4\n", &["dingdian", "user", "list"]);
        let Cmd::User { command: UserCmd::List { db, .. } } = cli.command else { panic!("not user list") };
        assert_eq!(db.data_dir, PathBuf::from("/srv/dd"));
        assert_eq!(db.db_max_connections, Some(4));
    }

    #[test]
    fn booleans_lists_and_log_format_are_carried() {
        let cli =
            parse("migrate = true\nlog_format = \"json\"\ntrusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]\n", &["dingdian", "serve"]);
        assert_eq!(cli.log_format, LogFormat::Json);
        let Cmd::Serve { migrate, net, .. } = cli.command else { panic!("not serve") };
        assert!(migrate);
        assert_eq!(net.trusted_proxies, "127.0.0.1,10.0.0.0/8");
    }

    #[test]
    fn bad_files_are_one_line_errors_naming_the_line() {
        let e = FileConfig::parse("d.toml", "drain = 3\n\nlisten = \"x\"\n").unwrap_err();
        assert!(e.starts_with("configuration file d.toml:3: unknown field `listen`"), "{e}");
        let e = FileConfig::parse("d.toml", "drain = 3\naddr = \n").unwrap_err();
        assert!(e.starts_with("configuration file d.toml:2: "), "{e}");
        assert!(!e.contains('\n'), "{e}");
        let e = FileConfig::parse("d.toml", "drain = \"soon\"\n").unwrap_err();
        assert!(e.starts_with("configuration file d.toml:1: invalid type"), "{e}");
        let e = FileConfig::parse("d.toml", "log_format = \"xml\"\n").unwrap_err();
        assert!(e.contains("xml"), "{e}");
        let e = FileConfig::parse("d.toml", "s3 = \"s3://b\"\nfiles_dir = \"/f\"\n").unwrap_err();
        assert!(e.contains("either s3 or files_dir"), "{e}");
    }

    #[test]
    fn a_value_out_of_range_in_the_file_is_refused_like_a_flag() {
        let file = FileConfig::parse("t.toml", "db_max_connections = 0\n").expect("well-formed");
        let e = apply(Cli::command(), &file.defaults()).try_get_matches_from(["dingdian", "check"]).map(|_| ()).unwrap_err();
        assert!(e.to_string().contains("--db-max-connections"), "{e}");
    }

    #[test]
    fn config_path_from_the_command_line() {
        let args = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(path(&args(&["dingdian", "--config", "a.toml", "serve"])), Some("a.toml".into()));
        assert_eq!(path(&args(&["dingdian", "serve", "--config=b.toml"])), Some("b.toml".into()));
    }

    /// docs/operations.md's table is the truth: each key's flag and environment variable are the
    /// argument's, in every subcommand that has it, and the table lists every key.
    #[test]
    fn every_key_has_the_flag_and_environment_variable_the_table_names() {
        fn args(cmd: &Command, out: &mut Vec<clap::Arg>) {
            out.extend(cmd.get_arguments().cloned());
            for s in cmd.get_subcommands() {
                args(s, out);
            }
        }
        let mut all = Vec::new();
        args(&Cli::command(), &mut all);
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/operations.md")).expect("docs");
        let mut keys = Vec::new();
        for row in doc.lines().filter(|l| l.starts_with("| `")) {
            let cells: Vec<&str> = row.split('|').map(|c| c.trim().trim_matches('`')).collect();
            let (key, flag, env) = (cells[1], cells[2], cells[3]);
            let matching: Vec<&clap::Arg> = all.iter().filter(|a| a.get_id() == key).collect();
            assert!(!matching.is_empty(), "{key} is no argument");
            for a in matching {
                assert_eq!(a.get_long().map(|l| format!("--{l}")).as_deref(), Some(flag), "{key}");
                assert_eq!(a.get_env().and_then(|e| e.to_str()), Some(env), "{key}");
            }
            keys.push(key.to_owned());
        }
        assert_eq!(keys.len(), 21, "every key of FileConfig is in the table: {keys:?}");
        for k in &keys {
            let one = match k.as_str() {
                "addr" => "addr = \"127.0.0.1:1\"".to_owned(),
                "migrate" | "demo" => format!("{k} = true"),
                "trusted_proxies" => format!("{k} = []"),
                "log_format" => format!("{k} = \"json\""),
                "db_max_connections" | "db_acquire_timeout" | "s3_timeout" | "s3_connect_timeout" | "header_timeout"
                | "body_idle_timeout" | "drain" => format!("{k} = 1"),
                _ => format!("{k} = \"x\""),
            };
            assert!(FileConfig::parse("one", &one).is_ok(), "{k} is a key of the file");
        }
    }

    /// deploy/dingdian.toml names every key: uncommented (but `s3`, which excludes
    /// `files_dir`), it is a valid file setting all of them.
    #[test]
    fn the_shipped_example_names_every_key() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/dingdian.toml")).expect("example");
        assert_eq!(FileConfig::parse("deploy/dingdian.toml", &text).expect("valid as shipped"), FileConfig::default());
        let key = |l: &str| {
            l.strip_prefix("# ")
                .filter(|l| {
                    l.split_once(" = ").is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
                })
                .map(str::to_owned)
        };
        let lines: Vec<String> = text.lines().filter_map(key).collect();
        assert!(lines.iter().any(|l| l.starts_with("s3 = ")), "s3 is in the example");
        let set: String = lines.iter().filter(|l| !l.starts_with("s3 = ")).map(|l| format!("{l}\n")).collect();
        let all = FileConfig::parse("uncommented", &set).expect("every example value is valid");
        assert_eq!(all.defaults().len(), 20, "every key but s3 is set: {set}");
    }
}
