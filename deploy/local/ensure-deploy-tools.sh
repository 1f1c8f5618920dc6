#!/usr/bin/env bash
# Makes sure the tools that check the deployment artefacts are installed: promtool (Debian's
# prometheus package) for the alert rules and the Prometheus configuration, and
# kubernetes-validate (PyPI, with the Kubernetes API schemas inside) for the manifests; PyYAML for
# the cross-checks. Each only when absent.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v promtool >/dev/null 2>&1; then
    echo "deploy tools: promtool not installed; installing Debian's prometheus package"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
if ! python3 -c "import kubernetes_validate, yaml" >/dev/null 2>&1; then
    echo "deploy tools: installing kubernetes-validate and PyYAML"
    python3 -m pip install --quiet --user kubernetes-validate pyyaml 2>/dev/null \
        || python3 -m pip install --quiet kubernetes-validate pyyaml
fi
