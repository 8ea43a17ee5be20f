// Package k8stest checks the deployment under deploy/ with the real tools
// that can run without a cluster: kustomize (in process), strict decoding
// into the Kubernetes API types, a NetworkPolicy evaluator, BuildKit's
// Dockerfile parser and linter, nginx -t and a live nginx, promtool, and
// the ginflix binary itself reading the manifests' configuration.
//
// Everything is in the tests; this file only documents the package. See
// deploy/README.md for what each test proves and what is left to a real
// cluster.
package k8stest
