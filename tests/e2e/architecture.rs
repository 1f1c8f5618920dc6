//! The absences ARCHITECTURE.md promises, checked in the source: SQL only in `rollcall-db`,
//! rdkafka only in `rollcall-kafka`, and protobuf types, on the server side, only in a service's
//! `grpc*.rs` (and its `lib.rs`, which registers the servers) and in the crates that own the
//! wire (`rollcall-proto`, `rollcall-pipeline`). The gRPC clients (the CLI, the benchmark, the
//! web dashboard) and tests speak protobuf by nature and are left out of that rule.

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
    const CLIENTS: [&str; 3] = ["rollcall-cli", "rollcall-bench", "rollcall-web"];
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
