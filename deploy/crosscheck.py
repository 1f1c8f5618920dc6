#!/usr/bin/env python3
"""Cross-checks of the deployment artefacts that no schema covers.

- Every metric an alert rule or a dashboard panel uses is a metric the services export: its name
  appears in docs/operations.md's catalogue (which tests/e2e/metrics.rs holds to the services).
- The Grafana dashboard is valid JSON with unique panel ids, each panel on the provisioned
  Prometheus data source.
- In the compose file, every Rollcall service runs a binary of the image, and every service's
  operations listener Prometheus scrapes is opened on 0.0.0.0.
"""

import json
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Metric names in PromQL: rollcall_* and process_*, without the histogram suffixes.
METRIC = re.compile(r"\b((?:rollcall|process)_[a-z_]+)")
SUFFIXES = ("_bucket", "_sum", "_count")

failures = []


def fail(message):
    failures.append(message)


def exported_metrics():
    text = (ROOT / "docs/operations.md").read_text()
    return set(re.findall(r"`((?:rollcall|process)_[a-z_]+)`", text))


def base_name(name):
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def check_expressions(where, expressions, exported):
    for expr in expressions:
        for name in METRIC.findall(expr):
            if base_name(name) not in exported:
                fail(f"{where}: {name} is not a metric any service exports (docs/operations.md)")


def main():
    exported = exported_metrics()
    if len(exported) < 20:
        fail(f"docs/operations.md lists only {len(exported)} metrics")

    alerts = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
    rules = [r for g in alerts["groups"] for r in g["rules"]]
    check_expressions("alerts.yml", [r["expr"] for r in rules], exported)

    dashboard = json.loads((ROOT / "deploy/grafana/rollcall.json").read_text())
    ids = [p["id"] for p in dashboard["panels"]]
    if len(ids) != len(set(ids)):
        fail("rollcall.json: panel ids repeat")
    source = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/datasources/prometheus.yaml").read_text()
    )["datasources"][0]["uid"]
    exprs = []
    for panel in dashboard["panels"]:
        if panel["datasource"]["uid"] != source:
            fail(f"rollcall.json: panel {panel['title']!r} is not on data source {source}")
        exprs += [t["expr"] for t in panel["targets"]]
    check_expressions("rollcall.json", exprs, exported)

    compose = yaml.safe_load((ROOT / "deploy/compose/compose.yaml").read_text())
    binaries = {"rollcall", "rollcall-gateway", "rollcall-validator", "rollcall-aggregator",
                "rollcall-query", "rollcall-web"}
    for name, service in compose["services"].items():
        if service.get("image") != "rollcall:latest":
            continue
        command = service.get("entrypoint") or service.get("command")
        if not command or command[0] not in binaries:
            fail(f"compose.yaml: {name} runs {command!r}, not a binary of the image")
    prometheus = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    env = compose["x-rollcall"]["environment"]
    for job in prometheus["scrape_configs"]:
        for target in job["static_configs"][0]["targets"]:
            host, port = target.split(":")
            section = host.upper()
            listen = env.get(f"ROLLCALL__{section}__OPS_LISTEN", "")
            if listen != f"0.0.0.0:{port}":
                fail(f"compose.yaml: {host}'s ops listener is {listen!r}, Prometheus scrapes {target}")

    for message in failures:
        print(f"deploy: {message}", file=sys.stderr)
    if failures:
        sys.exit(1)
    print(f"deploy: {len(rules)} alert rules and {len(dashboard['panels'])} dashboard panels use only exported metrics; compose file consistent")


if __name__ == "__main__":
    main()
