//! Embeds the dashboard's front-end assets: GOV.UK Frontend's JavaScript and images from the npm
//! package, and its styles compiled for Rollcall (`assets/rollcall.scss`). Both come from
//! `make web-assets` (npm and Sass); nothing of GOV.UK Frontend is kept in the repository.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// (URL path under /assets/, file relative to the crate, content type)
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "rollcall.css",
        "assets-dist/rollcall.css",
        "text/css; charset=utf-8",
    ),
    (
        "init.mjs",
        "assets/init.mjs",
        "text/javascript; charset=utf-8",
    ),
    (
        "govuk-frontend.min.js",
        "node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js",
        "text/javascript; charset=utf-8",
    ),
    (
        "images/favicon.ico",
        "node_modules/govuk-frontend/dist/govuk/assets/images/favicon.ico",
        "image/x-icon",
    ),
    (
        "images/favicon.svg",
        "node_modules/govuk-frontend/dist/govuk/assets/images/favicon.svg",
        "image/svg+xml",
    ),
    (
        "images/govuk-crest.svg",
        "node_modules/govuk-frontend/dist/govuk/assets/images/govuk-crest.svg",
        "image/svg+xml",
    ),
];

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let mut table = String::from(
        "/// Every embedded asset: (path under /assets/, content type, bytes).\npub static ASSETS: &[(&str, &str, &[u8])] = &[\n",
    );
    for (name, file, content_type) in ASSETS {
        let path = crate_dir.join(file);
        println!("cargo:rerun-if-changed={}", path.display());
        check(&path);
        writeln!(
            table,
            "    ({name:?}, {content_type:?}, include_bytes!({:?})),",
            path.display().to_string()
        )
        .expect("writing to a string");
    }
    table.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("assets.rs");
    std::fs::write(out, table).expect("writing the asset table");
}

fn check(path: &Path) {
    if !path.exists() {
        panic!(
            "{} is missing: GOV.UK Frontend is installed and compiled by `make web-assets` (npm ci and npm run build in services/rollcall-web)",
            path.display()
        );
    }
}
