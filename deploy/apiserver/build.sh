#!/usr/bin/env bash
# Builds kube-apiserver (k8s.io/kubernetes) and etcd from their Go modules into
# .cache/k8s/bin, reusing binaries already there. Each is built in its own
# throwaway module under .cache/k8s so the project's go.mod is never touched,
# and so kubernetes' and etcd's dependency graphs cannot bump one another.
set -euo pipefail

KUBERNETES_VERSION=${KUBERNETES_VERSION:-v1.37.2}
# The k8s.io staging modules are published as v0.<minor>.<patch>.
STAGING_VERSION=v0${KUBERNETES_VERSION#v1}
ETCD_VERSION=${ETCD_VERSION:-v3.7.3}

root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${K8S_CACHE:-$root/.cache/k8s}
bin=$cache/bin
mkdir -p "$bin"
# The build shares 2 cores with other work: lowest priority.
nice_go() { nice -n 19 go "$@"; }

if [[ ! -x $bin/kube-apiserver-$KUBERNETES_VERSION ]]; then
	mod=$cache/build-kube-apiserver
	rm -rf "$mod" && mkdir -p "$mod"
	src=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
	[[ -d $src ]] || { echo "cannot download k8s.io/kubernetes@$KUBERNETES_VERSION" >&2; exit 1; }
	# k8s.io/kubernetes requires its staging repos at v0.0.0 and replaces them
	# with ./staging paths, which do not apply to a dependent module: point
	# every one of them at its published release instead.
	{
		echo "module ginflix.local/kube-apiserver-build"
		echo
		echo "go 1.26.0"
		echo
		echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
		echo
		echo "replace ("
		sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 '"$STAGING_VERSION"'#p' "$src/go.mod"
		echo ")"
	} >"$mod/go.mod"
	cat >"$mod/tools.go" <<'GO'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GO
	(
		cd "$mod"
		echo "resolving k8s.io/kubernetes $KUBERNETES_VERSION dependencies" >&2
		GOFLAGS=-mod=mod nice_go mod tidy
		echo "building kube-apiserver $KUBERNETES_VERSION (about 13 minutes on 2 cores)" >&2
		pkg=k8s.io/component-base/version
		minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
		nice_go build -trimpath -buildvcs=false -o "$bin/kube-apiserver-$KUBERNETES_VERSION" \
			-ldflags "-s -w -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor" \
			k8s.io/kubernetes/cmd/kube-apiserver
	)
fi
ln -sf "kube-apiserver-$KUBERNETES_VERSION" "$bin/kube-apiserver"

if [[ ! -x $bin/etcd-$ETCD_VERSION ]]; then
	mod=$cache/build-etcd
	rm -rf "$mod" && mkdir -p "$mod"
	cat >"$mod/go.mod" <<GOMOD
module ginflix.local/etcd-build

go 1.26.0

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
GOMOD
	# etcd's own main (go.etcd.io/etcd/v3) is this one call.
	cat >"$mod/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
	(
		cd "$mod"
		echo "building etcd $ETCD_VERSION" >&2
		GOFLAGS=-mod=mod nice_go mod tidy
		nice_go build -trimpath -buildvcs=false -ldflags "-s -w" -o "$bin/etcd-$ETCD_VERSION" .
	)
fi
ln -sf "etcd-$ETCD_VERSION" "$bin/etcd"
echo "$bin/kube-apiserver and $bin/etcd are ready" >&2
