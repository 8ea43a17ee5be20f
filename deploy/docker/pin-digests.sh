#!/usr/bin/env bash
# Pins every FROM of deploy/docker/*.Dockerfile to its current digest
# (FROM name:tag -> FROM name:tag@sha256:...), so a rebuild gets the same
# base bytes. Needs docker and the registries; run it when bumping a base
# image, and commit the result. deploy/k8stest accepts tag-only and
# tag@digest references, and refuses floating tags either way.
set -euo pipefail
cd "$(dirname "$0")"
command -v docker >/dev/null 2>&1 || { echo "pin-digests.sh: docker is missing" >&2; exit 1; }
for f in *.Dockerfile; do
	for ref in $(sed -n 's/^FROM \([^ @]*:[^ @]*\)\( .*\)\{0,1\}$/\1/p' "$f" | sort -u); do
		digest=$(docker buildx imagetools inspect "$ref" --format '{{json .Manifest.Digest}}' 2>/dev/null | tr -d '"') || digest=
		if [ -z "$digest" ]; then
			docker pull -q "$ref" >/dev/null
			digest=$(docker image inspect --format '{{index .RepoDigests 0}}' "$ref" | sed 's/.*@//')
		fi
		case "$digest" in
		sha256:*) ;;
		*) echo "pin-digests.sh: no digest for $ref" >&2; exit 1 ;;
		esac
		sed -i -e "s|^FROM $ref\$|FROM $ref@$digest|" -e "s|^FROM $ref |FROM $ref@$digest |" "$f"
		echo "$f: $ref@$digest"
	done
done
