//! The absences ARCHITECTURE.md promises, checked in the source: SQL only in `rollcall-db`,
//! rdkafka only in `rollcall-kafka`, and protobuf types, on the server side, only in a service's
//! `grpc*.rs` (and its `lib.rs`, which registers the servers) and in the crates that own the
//! wire (`rollcall-proto`, `rollcall-pipeline`). The gRPC clients (the client library, the CLI,
//! the benchmark, the web dashboard) and tests speak protobuf by nature and are left out of that
//! rule. And in the manifests (`cargo metadata`): no service depends on another service.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The workspace's Rust sources outside `tests/` folders, with their text (comments and doc
/// comments left out, so a module that only mentions a crate is not taken to use it).
fn sources() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned();
    let mut files = Vec::new();
    for top in ["crates", "services"] {
        walk(&root.join(top), &mut files);
    }
    files
        .into_iter()
        .filter(|p| !p.components().any(|c| c.as_os_str() == "tests"))
        .filter(|p| !p.to_string_lossy().ends_with("_tests.rs"))
        .map(|p| {
            let code: String = std::fs::read_to_string(&p)
                .unwrap()
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .map(|l| format!("{l}\n"))
                .collect();
            (p.strip_prefix(&root).unwrap().to_owned(), code)
        })
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !["target", "node_modules", "assets-dist"].contains(&name.as_str()) {
                walk(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

fn crate_of(path: &Path) -> String {
    path.components()
        .nth(1)
        .unwrap()
        .as_os_str()
        .to_string_lossy()
        .into_owned()
}

/// Files using `needle` outside the crates allowed it.
fn offenders(needle: &str, allowed: impl Fn(&Path) -> bool) -> Vec<String> {
    sources()
        .into_iter()
        .filter(|(path, code)| code.contains(needle) && !allowed(path))
        .map(|(path, _)| path.display().to_string())
        .collect()
}

#[test]
fn the_sources_are_all_read() {
    let files = sources();
    assert!(files.len() > 50, "{} files", files.len());
    // The checks below would pass on an empty walk; they see the crates that may use each.
    for needle in ["sqlx::", "rdkafka", "rollcall_proto"] {
        assert!(
            files.iter().any(|(_, code)| code.contains(needle)),
            "{needle}"
        );
    }
}

#[test]
fn only_rollcall_db_contains_sql() {
    let found = offenders("sqlx::", |p| crate_of(p) == "rollcall-db");
    assert_eq!(found, Vec::<String>::new(), "sqlx outside rollcall-db");
}

#[test]
fn only_rollcall_kafka_imports_rdkafka() {
    let found = offenders("rdkafka", |p| crate_of(p) == "rollcall-kafka");
    assert_eq!(
        found,
        Vec::<String>::new(),
        "rdkafka outside rollcall-kafka"
    );
}

#[test]
fn protobuf_types_stay_at_the_edges() {
    const WIRE: [&str; 2] = ["rollcall-proto", "rollcall-pipeline"];
    const CLIENTS: [&str; 4] = [
        "rollcall-client",
        "rollcall-cli",
        "rollcall-bench",
        "rollcall-web",
    ];
    let found = offenders("rollcall_proto", |p| {
        let krate = crate_of(p);
        let file = p.file_name().unwrap().to_string_lossy();
        WIRE.contains(&krate.as_str())
            || CLIENTS.contains(&krate.as_str())
            || file.starts_with("grpc")
            || (file == "lib.rs" && p.starts_with("services"))
    });
    assert_eq!(found, Vec::<String>::new(), "protobuf types off the edges");
}

/// A workspace package as `cargo metadata` describes it.
struct Package {
    name: String,
    /// Whether its manifest is under `services/`.
    service: bool,
    /// What it depends on: the package's name and the kind (normal, dev or build).
    dependencies: Vec<(String, String)>,
}

/// The workspace's packages, from `cargo metadata`.
fn packages() -> Vec<Package> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(root)
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let services = root.join("services");
    metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|package| Package {
            name: package["name"].as_str().unwrap().to_owned(),
            service: Path::new(package["manifest_path"].as_str().unwrap()).starts_with(&services),
            dependencies: package["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| {
                    let kind = d["kind"].as_str().unwrap_or("normal").to_owned();
                    (d["name"].as_str().unwrap().to_owned(), kind)
                })
                .collect(),
        })
        .collect()
}

/// Services share crates, never each other: what two binaries need (a client library, a message
/// contract) is a crate under `crates/`. `tests/` is not a service and may depend on them all.
#[test]
fn no_service_depends_on_another_service() {
    let packages = packages();
    let is_service: HashMap<&str, bool> = packages
        .iter()
        .map(|p| (p.name.as_str(), p.service))
        .collect();
    // The check would pass on an empty list; it sees the services and what they depend on.
    assert!(is_service["rollcall-gateway"] && is_service["rollcall-cli"]);
    assert!(!is_service["rollcall-client"] && !is_service["rollcall-tests"]);
    let edges: Vec<String> = packages
        .iter()
        .filter(|p| p.service)
        .flat_map(|p| {
            p.dependencies
                .iter()
                .filter(|(dependency, _)| is_service.get(dependency.as_str()) == Some(&true))
                .map(|(dependency, kind)| format!("{} -> {dependency} ({kind})", p.name))
        })
        .collect();
    assert_eq!(
        edges,
        Vec::<String>::new(),
        "services depending on services: move what they share into a crate under crates/"
    );
}

/// The packages `package` links (its normal dependencies, followed down; dev and build
/// dependencies left out), from `cargo metadata`'s resolved graph of the workspace.
fn linked_packages(package: &str) -> std::collections::BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let name_of = |id: &str| {
        metadata["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let nodes = metadata["resolve"]["nodes"].as_array().unwrap();
    let start = nodes
        .iter()
        .find(|n| name_of(n["id"].as_str().unwrap()) == package)
        .unwrap_or_else(|| panic!("{package} is not in the workspace"));
    let mut seen = std::collections::BTreeSet::new();
    let mut ids = std::collections::BTreeSet::new();
    let mut todo = vec![start];
    while let Some(node) = todo.pop() {
        for dep in node["deps"].as_array().unwrap() {
            let normal = dep["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].is_null());
            let id = dep["pkg"].as_str().unwrap();
            if normal && ids.insert(id.to_owned()) {
                seen.insert(name_of(id));
                todo.push(nodes.iter().find(|n| n["id"] == id).unwrap());
            }
        }
    }
    seen
}

#[test]
fn the_query_service_links_no_kafka_client() {
    let linked = linked_packages("rollcall-query");
    // The walk sees the crates it does link.
    assert!(linked.contains("rollcall-server"), "{linked:?}");
    assert!(linked.contains("sqlx"), "{linked:?}");
    let kafka: Vec<&String> = linked
        .iter()
        .filter(|name| name.starts_with("rdkafka") || *name == "rollcall-kafka")
        .collect();
    assert_eq!(kafka, Vec::<&String>::new(), "rollcall-query links kafka");
}

/// The benchmark keeps its own copy of the validator's default batching for the broker floor
/// (a service may not depend on another); the copy must say what the validator does.
#[test]
fn the_broker_floor_batches_as_the_validator_does() {
    let validator = rollcall_validator::Settings::defaults()
        .validator
        .batch_config()
        .batching();
    let floor = rollcall_bench::FLOOR_BATCHING;
    assert_eq!(
        (floor.max_messages, floor.linger),
        (validator.max_messages, validator.linger)
    );
}
