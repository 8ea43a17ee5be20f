package k8stest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"
)

func labelSet(m map[string]string) labels.Set { return labels.Set(m) }

func lookPath(name string) (string, error) { return exec.LookPath(name) }

// run runs a command for at most two minutes and returns what it printed.
func run(t testing.TB, dir, name string, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	return cmd.CombinedOutput()
}

// requireTool finds a command the test needs. Where it is missing the
// test is skipped on a developer's machine, and fails in CI (CI set):
// there the check must run.
func requireTool(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed, and CI is set: this check must run in CI. Install it: %s", name, install)
	}
	t.Skipf("%s is not installed (CI unset, so skipping). Install it: %s", name, install)
	return ""
}
