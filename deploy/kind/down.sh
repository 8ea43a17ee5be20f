#!/usr/bin/env bash
# make kind-down: deletes the kind cluster of up.sh, with its volumes
# (MongoDB, the S3 data) and Secrets.
set -euo pipefail
command -v kind >/dev/null 2>&1 || { echo "down.sh: kind is missing" >&2; exit 1; }
kind delete cluster --name ginflix-cluster
