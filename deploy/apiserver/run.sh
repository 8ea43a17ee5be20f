#!/usr/bin/env bash
# make verify-k8s-apiserver: builds (once, cached in .cache/k8s) etcd and
# kube-apiserver, then dry-runs every kustomization under deploy/k8s
# against them with strict server-side validation (main.go). Not part of
# make test: the first build takes about 15 minutes on 2 cores.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
deploy/apiserver/build.sh
command -v kubectl >/dev/null || { echo "kubectl is missing: install it (https://kubernetes.io/docs/tasks/tools/)" >&2; exit 1; }
exec go run ./deploy/apiserver -bin "${K8S_CACHE:-$root/.cache/k8s}/bin" -k8s deploy/k8s "$@"
