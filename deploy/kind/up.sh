#!/usr/bin/env bash
# make kind-up: the whole Ginflix platform on a local kind cluster.
#
#   1. creates the kind cluster ginflix-cluster (deploy/kind/kind-config.yaml)
#   2. builds the images and loads them into the nodes
#   3. installs MetalLB with the seed's address pool, and metrics-server
#      with the seed's kind patch
#   4. creates the Secrets with random values (never committed; kept in the
#      cluster, so a second run reuses them)
#   5. applies deploy/k8s/overlays/kind: Ginflix, MongoDB, versitygw (S3)
#      and Keycloak with the realm of deploy/keycloak/
#   6. lets the kind addresses sign in through Keycloak, creates a first
#      Ginflix admin, and prints the URLs
#
# Needs docker (with a running engine), kind v0.24 or newer (its network
# policies) and kubectl. Linux: the MetalLB addresses are on kind's Docker
# network, which the host reaches directly (not so with Docker Desktop).
# Safe to run again. Environment: SKIP_BUILD=1 reuses the loaded images;
# METALLB_VERSION, METRICS_SERVER_VERSION, KIND_NODE_IMAGE override the pins.
set -euo pipefail

cd "$(dirname "$0")/../.."
CLUSTER=ginflix-cluster
NS=ginflix
METALLB_VERSION=${METALLB_VERSION:-v0.15.2}
METRICS_SERVER_VERSION=${METRICS_SERVER_VERSION:-v0.8.0}
ADMIN_EMAIL=${ADMIN_EMAIL:-admin@ginflix.local}
kubectl() { command kubectl --context "kind-$CLUSTER" "$@"; }

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'up.sh: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is missing: $2"; }
# random STRING of letters and digits, at most 60 long
random() { local b; b=$(head -c 48 /dev/urandom | base64 | tr -d '/+=\n'); printf '%s' "${b:0:$1}"; }

need docker "install Docker Engine (https://docs.docker.com/engine/install/)"
need kind "go install sigs.k8s.io/kind@latest (v0.24 or newer)"
need kubectl "install kubectl (https://kubernetes.io/docs/tasks/tools/)"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer (is it running, may this user use it?)"
kind_minor=$(kind version | sed -n 's/^kind v0\.\([0-9]*\)\..*/\1/p')
if [ -z "$kind_minor" ] || [ "$kind_minor" -lt 24 ]; then
	die "kind $(kind version) is too old: v0.24 or newer enforces NetworkPolicies"
fi

step "cluster $CLUSTER"
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
	echo "already there"
else
	kind create cluster --config deploy/kind/kind-config.yaml ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"} --wait 180s
fi
minor=$(kubectl get --raw /version | sed -n 's/.*"minor": *"\([0-9]*\).*/\1/p')
if [ -z "$minor" ] || [ "$minor" -lt 30 ]; then
	die "Kubernetes 1.$minor: the manifests need 1.30 or newer (preStop sleep); set KIND_NODE_IMAGE"
fi
subnets=$(docker network inspect kind -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}')
case " $subnets " in
*" 172.18.0.0/16 "*) ;;
*) die "kind's Docker network is $subnets, not 172.18.0.0/16: the seed's addresses 172.18.255.200-250 are not on it. Delete the cluster, free 172.18.0.0/16 (docker network ls) and run again." ;;
esac

if [ "${SKIP_BUILD:-}" != 1 ]; then
	step "images"
	version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
	docker build -f deploy/docker/ginflix.Dockerfile --build-arg VERSION="$version" -t ginflix/backend:dev -t ginflix/streamer:dev .
	kind load docker-image ginflix/backend:dev ginflix/streamer:dev --name "$CLUSTER"
	if [ -f web/package.json ]; then
		docker build -f deploy/docker/frontend.Dockerfile -t ginflix/frontend:dev .
		docker build -f deploy/docker/frontend-admin.Dockerfile -t ginflix/frontend-admin:dev .
		kind load docker-image ginflix/frontend:dev ginflix/frontend-admin:dev --name "$CLUSTER"
	else
		echo "web/ is not there yet: no front-end images (the API, the streamer and Keycloak still come up)"
	fi
fi
web=0
docker image inspect ginflix/frontend:dev >/dev/null 2>&1 && docker image inspect ginflix/frontend-admin:dev >/dev/null 2>&1 && web=1

step "MetalLB $METALLB_VERSION"
kubectl apply -f "https://raw.githubusercontent.com/metallb/metallb/$METALLB_VERSION/config/manifests/metallb-native.yaml"
kubectl -n metallb-system rollout status deployment/controller --timeout=300s
kubectl -n metallb-system rollout status daemonset/speaker --timeout=300s
# Its webhook refuses the pool until it answers.
for i in $(seq 30); do
	kubectl apply -k deploy/k8s/metallb && break
	[ "$i" = 30 ] && die "MetalLB's webhook never accepted the address pool"
	sleep 5
done

step "metrics-server $METRICS_SERVER_VERSION"
kubectl apply -f "https://github.com/kubernetes-sigs/metrics-server/releases/download/$METRICS_SERVER_VERSION/components.yaml"
kubectl -n kube-system patch deployment metrics-server --type strategic --patch-file deploy/kind/metrics-server-patch.yaml
kubectl -n kube-system rollout status deployment/metrics-server --timeout=300s

step "secrets"
kubectl apply -f deploy/k8s/base/namespace.yaml
secret() {
	local name=$1
	shift
	if kubectl -n "$NS" get secret "$name" >/dev/null 2>&1; then
		echo "secret/$name kept"
	else
		kubectl -n "$NS" create secret generic "$name" "$@"
	fi
}
secret_value() { kubectl -n "$NS" get secret "$1" -o "jsonpath={.data.$2}" | base64 -d; }
s3_secret=$(random 40)
secret s3-credentials --from-literal=access-key="ginflix$(random 12)" --from-literal=secret-key="$s3_secret"
secret ginflix-playback-keys --from-literal=keys="k1:$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
mongo_password=$(random 32)
secret mongodb-credentials --from-literal=username=ginflix --from-literal=password="$mongo_password" \
	--from-literal=uri="mongodb://ginflix:$mongo_password@mongodb:27017/?authSource=admin"
secret keycloak-admin --from-literal=username=admin --from-literal=password="$(random 24)"
secret ginflix-first-admin --from-literal=email="$ADMIN_EMAIL" --from-literal=password="$(random 20)"

step "Ginflix (deploy/k8s/overlays/kind)"
kubectl apply -k deploy/k8s/overlays/kind
if [ "$web" = 0 ]; then
	# A Deployment at 0 replicas turns its HPA off until the images exist.
	kubectl -n "$NS" scale deployment/frontend deployment/frontend-admin --replicas=0
fi
for w in statefulset/mongodb statefulset/s3 deployment/keycloak deployment/backend deployment/streamer; do
	kubectl -n "$NS" rollout status "$w" --timeout=600s
done
if [ "$web" = 1 ]; then
	kubectl -n "$NS" rollout status deployment/frontend --timeout=300s
	kubectl -n "$NS" rollout status deployment/frontend-admin --timeout=300s
fi

step "Keycloak: the kind addresses, a first admin"
kc() { kubectl -n "$NS" exec deployment/keycloak -- /opt/keycloak/bin/kcadm.sh "$@"; }
kc config credentials --server http://localhost:8080 --realm master \
	--user "$(secret_value keycloak-admin username)" --password "$(secret_value keycloak-admin password)"
realm=deploy/keycloak/ginflix-realm.json
client=$(kc get clients -r ginflix -q clientId=ginflix-web --fields id --format csv --noquotes | tr -d '\r')
[ -n "$client" ] || die "the realm has no ginflix-web client: was deploy/keycloak/ginflix-realm.json imported?"
# The realm's own URIs (the production hosts) plus the kind front ends.
redirects=$(grep -o '"https://[^"]*/auth/[a-z]*"' "$realm" | sort -u | paste -sd, -)
origins=$(grep -o '"https://[a-z0-9.-]*"' "$realm" | sort -u | paste -sd, -)
logout=$(sed -n 's/.*"post.logout.redirect.uris": *"\([^"]*\)".*/\1/p' "$realm")
# (the admin app lives under /admin/: web/vite.config.ts)
kind_redirects='"http://172.18.255.201/auth/callback","http://172.18.255.201/auth/silent","http://172.18.255.202/admin/auth/callback","http://172.18.255.202/admin/auth/silent"'
kc update "clients/$client" -r ginflix \
	-s "redirectUris=[$redirects,$kind_redirects]" \
	-s "webOrigins=[$origins,\"http://172.18.255.201\",\"http://172.18.255.202\"]" \
	-s "attributes.\"post.logout.redirect.uris\"=$logout##http://172.18.255.201/##http://172.18.255.202/admin/"
admin_email=$(secret_value ginflix-first-admin email)
admin_password=$(secret_value ginflix-first-admin password)
if ! kc get users -r ginflix -q exact=true -q "username=$admin_email" --fields id | grep -q '"id"'; then
	kc create users -r ginflix -s "username=$admin_email" -s "email=$admin_email" -s enabled=true -s emailVerified=true
	kc set-password -r ginflix --username "$admin_email" --new-password "$admin_password"
	kc add-roles -r ginflix --uusername "$admin_email" --rolename ginflix-admin
fi

step "alert rules"
if kubectl get crd prometheusrules.monitoring.coreos.com podmonitors.monitoring.coreos.com >/dev/null 2>&1; then
	kubectl apply -k deploy/k8s/monitoring
else
	echo "no Prometheus Operator in the cluster: deploy/k8s/monitoring not applied"
fi

step "ready"
if command -v curl >/dev/null 2>&1; then
	curl -fsS --max-time 10 http://172.18.255.203:8080/api/health >/dev/null && echo "API answers at http://172.18.255.203:8080/api/health" ||
		echo "the API does not answer from this host yet (kubectl -n $NS get pods,svc)"
fi
cat <<MSG

  User app        http://172.18.255.201$([ "$web" = 0 ] && echo "   (not deployed: web/ is not built yet)")
  Admin app       http://172.18.255.202/admin/$([ "$web" = 0 ] && echo "   (not deployed: web/ is not built yet)")
  API             http://172.18.255.203:8080/api/videos   (uploads: http://172.18.255.206:8080/api/uploads/)
  Streamer        http://172.18.255.204:8080/stream/health
  Keycloak        http://172.18.255.205:8080/admin/   (kubectl -n $NS get secret keycloak-admin -o jsonpath='{.data.password}' | base64 -d)

  Ginflix admin   $admin_email / $admin_password

  make kind-down deletes the cluster.
MSG
