#!/usr/bin/env bash
# Checks the deployment artefacts with what runs here (`make test` runs it):
#   - the alert rules (promtool check rules, and their unit tests: promtool test rules);
#   - the Prometheus configuration (promtool check config);
#   - the Kubernetes manifests, each file and the Kustomize base as rendered when kubectl is
#     there, against the Kubernetes API schemas (kubernetes-validate --strict);
#   - deploy/crosscheck.py: every metric the alerts and the Grafana dashboard use is one the
#     services export (docs/operations.md lists them), the dashboard's JSON and the compose file.
# Not run here: building the image (no base images can be fetched) and starting the compose
# stack or applying the manifests (no container runtime or cluster).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "deploy: alert rules"
promtool check rules "$here/prometheus/alerts.yml"
(cd "$here/prometheus" && promtool test rules alerts.test.yml)

echo "deploy: prometheus configuration"
# The compose file mounts the rules at /etc/prometheus; check against the file beside it.
sed "s|/etc/prometheus/alerts.yml|$here/prometheus/alerts.yml|" "$here/prometheus/prometheus.yml" >"$tmp/prometheus.yml"
promtool check config "$tmp/prometheus.yml"

echo "deploy: kubernetes manifests"
manifests=()
for f in "$here"/kubernetes/base/*.yaml; do
    [ "$(basename "$f")" = kustomization.yaml ] || manifests+=("$f")
done
python3 -m kubernetes_validate --strict --quiet "${manifests[@]}"
if command -v kubectl >/dev/null 2>&1; then
    kubectl kustomize "$here/kubernetes/base" >"$tmp/rendered.yaml"
    python3 -m kubernetes_validate --strict --quiet "$tmp/rendered.yaml"
    echo "deploy: kustomize base renders $(grep -c '^kind:' "$tmp/rendered.yaml") valid objects"
else
    echo "deploy: kubectl not installed: the Kustomize base was not rendered (each file was validated)"
fi

python3 "$here/crosscheck.py"
echo "deploy: all checks passed"
