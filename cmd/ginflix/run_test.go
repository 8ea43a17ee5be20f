package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// runCmd runs the program with args (after "ginflix") and no environment.
func runCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out, errOut strings.Builder
	err = run(ctx, append([]string{"ginflix"}, args...), envOf(nil), strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestServeHelpListsEverySetting(t *testing.T) {
	for _, arg := range []string{"--help", "-h"} {
		t.Run(arg, func(t *testing.T) {
			stdout, _, err := runCmd(t, "serve", arg)
			if err != nil {
				t.Fatalf("run serve %s: %v, want nil", arg, err)
			}
			lines := strings.Split(stdout, "\n")
			if !strings.HasPrefix(stdout, "Usage: ginflix serve") {
				t.Errorf("help does not start with the usage line:\n%s", stdout)
			}
			c := defaultConfig()
			settings := c.settings()
			for _, s := range settings {
				var line string
				for _, l := range lines {
					if f := strings.Fields(l); len(f) >= 2 && f[0] == "--"+s.flag {
						line = l
						break
					}
				}
				if line == "" {
					t.Errorf("no help line for --%s:\n%s", s.flag, stdout)
					continue
				}
				f := strings.Fields(line)
				if f[1] != s.env {
					t.Errorf("--%s: env column %q, want %q", s.flag, f[1], s.env)
				}
				if marked := len(f) > 2 && f[2] == "*"; marked != s.secret {
					t.Errorf("--%s: secret mark %v, want %v: %q", s.flag, marked, s.secret, line)
				}
				if !strings.Contains(line, s.usage) {
					t.Errorf("--%s: usage %q missing from %q", s.flag, s.usage, line)
				}
			}
			// One line per setting, no more (a setting added to settings()
			// but not registered, or vice versa, shows up here).
			n := 0
			for _, l := range lines {
				if strings.HasPrefix(strings.TrimSpace(l), "--") {
					n++
				}
			}
			if n != len(settings) {
				t.Errorf("%d flag lines, want %d", n, len(settings))
			}
			for _, def := range []string{"(default 127.0.0.1:8080)", "(default ./data)", "(default 20GiB)", "(default 30s)", "(default true)", "(default filesystem)"} {
				if !strings.Contains(stdout, def) {
					t.Errorf("help lacks %q", def)
				}
			}
		})
	}
}

// Help shows the built-in defaults, never a value from the environment,
// and never a secret.
func TestServeHelpHidesSecrets(t *testing.T) {
	var out strings.Builder
	env := envOf(map[string]string{"GINFLIX_S3_SECRET_KEY": "topsecret", "GINFLIX_MONGODB_URI": "mongodb://u:pw123@db"})
	if err := run(context.Background(), []string{"ginflix", "serve", "--help"}, env, strings.NewReader(""), &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"topsecret", "pw123"} {
		if strings.Contains(out.String(), leak) {
			t.Errorf("help shows %q:\n%s", leak, out.String())
		}
	}
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version", "-version"} {
		stdout, _, err := runCmd(t, arg)
		if err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
		want := "ginflix " + buildVersion() + "\n"
		if stdout != want || buildVersion() == "" {
			t.Errorf("%s printed %q, want %q", arg, stdout, want)
		}
	}
}

func TestVersionStamped(t *testing.T) {
	old := version
	t.Cleanup(func() { version = old })
	version = "v1.2.3"
	if stdout, _, err := runCmd(t, "version"); err != nil || stdout != "ginflix v1.2.3\n" {
		t.Errorf("version = %q, %v; want \"ginflix v1.2.3\\n\"", stdout, err)
	}
}

func TestHelpCommand(t *testing.T) {
	for _, arg := range []string{"help", "--help", "-h"} {
		stdout, _, err := runCmd(t, arg)
		if err != nil {
			t.Errorf("%s: %v", arg, err)
		}
		if !strings.Contains(stdout, "ginflix serve [flags]") {
			t.Errorf("%s: usage not on stdout: %q", arg, stdout)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	stdout, stderr, err := runCmd(t, "frobnicate", "--x")
	wantErr(t, err, `unknown command "frobnicate"`)
	if !strings.Contains(stderr, "Usage:") {
		t.Errorf("usage not on stderr: %q", stderr)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
}

func TestNoCommand(t *testing.T) {
	for _, args := range [][]string{{"ginflix"}, nil} {
		var out, errOut strings.Builder
		err := run(context.Background(), args, envOf(nil), strings.NewReader(""), &out, &errOut)
		wantErr(t, err, "no command")
		if !strings.Contains(errOut.String(), "Usage:") {
			t.Errorf("args %q: usage not on stderr: %q", args, errOut.String())
		}
	}
}

// A bad configuration fails before anything is opened or listened on.
func TestServeBadConfig(t *testing.T) {
	data := t.TempDir() + "/never"
	_, _, err := runCmd(t, "serve", "--data", data, "--addr", "127.0.0.1:0", "--roles", "web,cdn", "--log-level", "chatty")
	wantErr(t, err, "invalid configuration", `unknown role "cdn"`, "GINFLIX_LOG_LEVEL")
	if _, statErr := os.Stat(data); statErr == nil {
		t.Errorf("data directory %s was created for a bad configuration", data)
	}
	_, _, err = runCmd(t, "serve", "--bogus")
	wantErr(t, err, "bogus")
}
