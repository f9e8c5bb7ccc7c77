//! The crate edges ARCHITECTURE.md draws are the edges Cargo.toml files declare — no more, no
//! fewer — and tests reach only below their crate.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

type Edges = BTreeMap<String, BTreeSet<String>>;

fn workspace_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The "Crates, their edges" table: crate → the workspace crates it may depend on.
fn documented_edges() -> Edges {
    let architecture =
        std::fs::read_to_string(workspace_root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let section = architecture
        .split("## Crates, their edges")
        .nth(1)
        .expect("ARCHITECTURE.md has a \"Crates, their edges\" section");
    let name = |cell: &str| cell.trim().trim_matches('`').to_string();
    section
        .lines()
        .skip_while(|line| !line.starts_with("| crate |"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|row| {
            let cells: Vec<&str> = row.trim_matches('|').split('|').collect();
            let targets = cells[2]
                .split(',')
                .map(name)
                .filter(|target| !target.is_empty() && target != "—")
                .collect();
            (name(cells[0]), targets)
        })
        .collect()
}

/// (normal, dev) dependencies between workspace crates, as Cargo sees them.
fn declared_edges() -> (Edges, Edges) {
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(workspace_root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    let members: BTreeSet<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    let (mut normal, mut dev) = (Edges::new(), Edges::new());
    for package in packages {
        let name = package["name"].as_str().unwrap().to_string();
        normal.entry(name.clone()).or_default();
        dev.entry(name.clone()).or_default();
        for dependency in package["dependencies"].as_array().unwrap() {
            let target = dependency["name"].as_str().unwrap();
            if !members.contains(target) {
                continue;
            }
            let edges = match dependency["kind"].as_str() {
                None => &mut normal,
                Some("dev") => &mut dev,
                Some(_) => continue,
            };
            edges.get_mut(&name).unwrap().insert(target.to_string());
        }
    }
    (normal, dev)
}

/// Every crate `from` reaches through normal dependencies.
fn below(edges: &Edges, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_string()];
    while let Some(next) = todo.pop() {
        for target in &edges[&next] {
            if seen.insert(target.clone()) {
                todo.push(target.clone());
            }
        }
    }
    seen
}

#[test]
fn crate_dependencies_are_exactly_the_documented_edges() {
    let documented = documented_edges();
    let (declared, _) = declared_edges();
    for (name, targets) in &declared {
        let allowed = documented
            .get(name)
            .unwrap_or_else(|| panic!("crate {name} is missing from ARCHITECTURE.md's edge table"));
        let extra: Vec<_> = targets.difference(allowed).collect();
        assert!(
            extra.is_empty(),
            "{name} depends on {extra:?}, an edge ARCHITECTURE.md does not show"
        );
        let missing: Vec<_> = allowed.difference(targets).collect();
        assert!(
            missing.is_empty(),
            "ARCHITECTURE.md shows {name} → {missing:?}, which Cargo.toml does not declare"
        );
    }
    for name in documented.keys() {
        assert!(
            declared.contains_key(name),
            "ARCHITECTURE.md lists {name}, which is not a workspace crate"
        );
    }
}

#[test]
fn tests_reach_only_below_their_crate() {
    let (normal, dev) = declared_edges();
    for (name, targets) in &dev {
        let reachable = below(&normal, name);
        for target in targets {
            assert!(
                target == "test-support" || reachable.contains(target),
                "{name}'s tests depend on {target}, which {name} does not sit above"
            );
        }
    }
}
