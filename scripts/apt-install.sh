#!/usr/bin/env bash
# Installs the Debian packages named as arguments when their command is
# missing: apt-install.sh COMMAND=PACKAGE ... (e.g. ffmpeg=ffmpeg).
set -euo pipefail
missing=()
for pair in "$@"; do
	cmd=${pair%%=*} pkg=${pair#*=}
	command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
	sudo=sudo
fi
echo "installing ${missing[*]} from apt..." >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
