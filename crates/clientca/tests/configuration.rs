//! The command line is well-formed, and README.md's configuration table documents exactly the
//! global, `serve` and `gateway` flags the binary has, with their environment variables and
//! defaults.

use std::collections::BTreeMap;

use clap::CommandFactory;
use clientca::cli::Cli;

#[test]
fn the_command_line_is_well_formed() {
    Cli::command().debug_assert();
}

/// One documented flag: (environment variable, default as documented).
type Documented = BTreeMap<String, (Option<String>, Option<String>)>;

/// `serve --listen` → (`CLIENTCA_LISTEN`, `127.0.0.1:8080`), from README's configuration table.
fn readme_flags() -> Documented {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let section = readme
        .split("## Configuration")
        .nth(1)
        .expect("README.md has a Configuration section");
    let code = |cell: &str| {
        let cell = cell.trim();
        cell.strip_prefix('`')
            .and_then(|rest| rest.split('`').next())
            .map(str::to_string)
    };
    section
        .lines()
        .skip_while(|line| !line.starts_with("| flag |"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .filter_map(|row| {
            let cells: Vec<&str> = row.trim_matches('|').split('|').collect();
            // `—` in the flag column: an environment variable without a flag.
            let flag = code(cells[0])?;
            Some((flag, (code(cells[1]), code(cells[2]))))
        })
        .collect()
}

/// The same from clap: global flags as `--name`, `serve`'s as `serve --name`, `gateway`'s as
/// `gateway --name`. The gateway options `serve` shares (same flag, same variable) are documented
/// once, as the gateway's.
fn clap_flags() -> Documented {
    let command = Cli::command();
    let mut flags = Documented::new();
    let mut add = |prefix: &str, command: &clap::Command| {
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if arg.is_global_set() && !prefix.is_empty() {
                continue;
            }
            let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
            let default = arg
                .get_default_values()
                .first()
                .map(|d| d.to_string_lossy().into_owned());
            flags.insert(format!("{prefix}--{long}"), (env, default));
        }
    };
    let subcommand = |name: &str| {
        command
            .get_subcommands()
            .find(|c| c.get_name() == name)
            .unwrap_or_else(|| panic!("a {name} command"))
            .clone()
    };
    add("", &command);
    add("serve ", &subcommand("serve"));
    add("gateway ", &subcommand("gateway"));
    let shared: Vec<String> = flags
        .iter()
        .filter_map(|(flag, documented)| {
            let long = flag.strip_prefix("serve ")?;
            (flags.get(&format!("gateway {long}")) == Some(documented)).then(|| flag.clone())
        })
        .collect();
    assert!(
        shared.contains(&"serve --route".to_string()),
        "serve shares the gateway's options"
    );
    for flag in shared {
        flags.remove(&flag);
    }
    for help in ["--help", "--version", "serve --help", "gateway --help"] {
        flags.remove(help);
    }
    flags
}

#[test]
fn readme_documents_every_flag_and_no_other() {
    let documented = readme_flags();
    let actual = clap_flags();
    for (flag, (env, default)) in &actual {
        let Some((readme_env, readme_default)) = documented.get(flag) else {
            panic!("README.md's configuration table lacks {flag}");
        };
        assert_eq!(readme_env, env, "{flag}: environment variable");
        if let Some(default) = default {
            assert_eq!(
                readme_default.as_ref(),
                Some(default),
                "{flag}: README's default differs from the binary's"
            );
        }
    }
    for flag in documented.keys() {
        assert!(
            actual.contains_key(flag),
            "README.md documents {flag}, which the binary does not have"
        );
    }
}
