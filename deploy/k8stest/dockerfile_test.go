package k8stest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// The images and what the manifests expect of them.
var images = []struct {
	dockerfile string
	uid        int64  // the pods' runAsUser
	port       string // the containers' port
	finalCopy  []string
}{
	{"ginflix.Dockerfile", 10001, "8080", []string{"/out/ginflix"}},
	{"frontend.Dockerfile", 101, "8080", []string{"/src/web/dist/user"}},
	{"frontend-admin.Dockerfile", 101, "8080", []string{"/src/web/dist/admin"}},
}

type dockerfile struct {
	stages   []instructions.Stage
	warnings []string
}

// parseDockerfile reads a Dockerfile with BuildKit's own parser and linter
// (what `docker build` runs).
func parseDockerfile(t *testing.T, path string) dockerfile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := parser.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var df dockerfile
	for _, w := range res.Warnings {
		df.warnings = append(df.warnings, w.Short)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, _ []parser.Range) {
		df.warnings = append(df.warnings, rule+": "+msg)
	}})
	df.stages, _, err = instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return df
}

// An image reference is pinned when its tag names an exact release
// (1.26.8-bookworm, 12.12-slim) or it carries a digest.
var (
	pinnedTag = regexp.MustCompile(`^[^:@]+:v?[0-9]+\.[0-9]+(\.[0-9]+)?([-.][a-z0-9.]+)*$`)
	digest    = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)
	// What builds software rather than runs it.
	buildTools = regexp.MustCompile(`\b(gcc|g\+\+|clang|make|cmake|build-essential|golang|golang-go|git|nodejs|npm|yarn|pnpm|cargo|rustc|maven|gradle)\b`)
	buildBases = regexp.MustCompile(`^(docker\.io/)?(library/)?(golang|node|rust|gcc|maven|gradle|buildpack-deps)[:@]`)
)

func TestDockerfiles(t *testing.T) {
	for _, img := range images {
		t.Run(img.dockerfile, func(t *testing.T) {
			df := parseDockerfile(t, deployPath(t, "docker", img.dockerfile))
			for _, w := range df.warnings {
				t.Errorf("BuildKit lint: %s", w)
			}
			if len(df.stages) < 2 {
				t.Fatalf("%d stage(s): want a build stage and a runtime stage", len(df.stages))
			}
			names := map[string]bool{}
			for _, s := range df.stages {
				if !names[s.BaseName] {
					ref := s.BaseName
					if !pinnedTag.MatchString(strings.Split(ref, "@")[0]) && !digest.MatchString(ref) {
						t.Errorf("FROM %s: not pinned to a release (tag with a version, or a digest)", ref)
					}
					if strings.Contains(ref, "@") && !digest.MatchString(ref) {
						t.Errorf("FROM %s: malformed digest", ref)
					}
				}
				names[s.Name] = true
			}
			final := df.stages[len(df.stages)-1]
			if buildBases.MatchString(final.BaseName) {
				t.Errorf("final stage FROM %s: a build image", final.BaseName)
			}
			var user string
			var exposed, copied []string
			for _, c := range final.Commands {
				switch c := c.(type) {
				case *instructions.UserCommand:
					user = c.User
				case *instructions.ExposeCommand:
					exposed = append(exposed, c.Ports...)
				case *instructions.RunCommand:
					line := strings.Join(c.CmdLine, " ")
					if m := buildTools.FindString(line); m != "" && strings.Contains(line, "install") {
						t.Errorf("final stage installs %s: %s", m, line)
					}
				case *instructions.CopyCommand:
					if c.From != "" {
						if !names[c.From] {
							t.Errorf("COPY --from=%s: not a stage of this file", c.From)
						}
						for _, src := range c.SourcePaths {
							if src == "/" || src == "." || src == "/src" || src == "/go" {
								t.Errorf("COPY --from=%s %s: copies the build tree, not an artifact", c.From, src)
							}
							copied = append(copied, src)
						}
					} else {
						for _, src := range c.SourcePaths {
							if _, err := os.Stat(filepath.Join(repoRoot(t), "web")); err != nil && strings.HasPrefix(src, "web/") {
								continue // the web apps are not there yet
							}
							if _, err := os.Stat(filepath.Join(repoRoot(t), src)); err != nil {
								t.Errorf("COPY %s: not in the repository", src)
							}
						}
					}
				case *instructions.AddCommand:
					t.Errorf("ADD in the final stage: use COPY")
				case *instructions.EnvCommand:
					for _, kv := range c.Env {
						if regexp.MustCompile(`(?i)secret|password|token|_KEY$`).MatchString(kv.Key) {
							t.Errorf("ENV %s: secrets do not belong in an image", kv.Key)
						}
					}
				}
			}
			uidPart, _, _ := strings.Cut(user, ":")
			uid, err := strconv.ParseInt(uidPart, 10, 64)
			switch {
			case user == "":
				t.Errorf("final stage has no USER: it would run as root")
			case err != nil:
				t.Errorf("USER %s: numeric, so that runAsNonRoot can check it", user)
			case uid == 0:
				t.Errorf("USER %s is root", user)
			case uid != img.uid:
				t.Errorf("USER %d, the pods run as %d", uid, img.uid)
			}
			if !slices.Contains(exposed, img.port) {
				t.Errorf("EXPOSE %v, the containers listen on %s", exposed, img.port)
			}
			for _, want := range img.finalCopy {
				if !slices.Contains(copied, want) {
					t.Errorf("the final stage does not copy %s from the build (copies %v)", want, copied)
				}
			}
		})
	}
}

// The front-end images copy what web/ builds: web/vite.config.ts's output
// directories, once web/ exists.
func TestFrontendImagesMatchTheWebBuild(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "web", "vite.config.ts"))
	if os.IsNotExist(err) {
		t.Skip("web/ is not there yet")
	} else if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"dist/user", "dist/admin"} {
		if !strings.Contains(string(b), fmt.Sprintf("'%s'", dir)) && !strings.Contains(string(b), fmt.Sprintf("%q", dir)) {
			t.Errorf("web/vite.config.ts does not build into %s, which the images copy", dir)
		}
	}
	if !strings.Contains(string(b), "base: '/admin/'") {
		t.Errorf("web/vite.config.ts: the admin app is no longer built for /admin/, which frontend-admin.conf serves")
	}
}

// The checks themselves, on Dockerfiles that break them.
func TestDockerfileRulesRefuse(t *testing.T) {
	for name, src := range map[string]string{
		"one stage":    "FROM debian:12.12-slim\nUSER 10001\n",
		"floating tag": "FROM golang:1.26 AS build\nFROM debian:bookworm-slim\nUSER 10001\n",
		"latest":       "FROM golang:1.26.8 AS build\nFROM debian:latest\nUSER 10001\n",
	} {
		df := writeAndParse(t, src)
		bad := len(df.stages) < 2
		for _, s := range df.stages {
			bad = bad || (!pinnedTag.MatchString(s.BaseName) && !digest.MatchString(s.BaseName) && s.BaseName != "build")
		}
		if !bad {
			t.Errorf("%s: passes", name)
		}
	}
	df := writeAndParse(t, "from debian:12.12-slim as Build\nRUN echo hi\nCMD echo hi\n")
	if len(df.warnings) == 0 {
		t.Error("BuildKit's linter found nothing in a sloppy Dockerfile")
	}
	if !buildTools.MatchString("apt-get install -y gcc make") || buildTools.MatchString("apt-get install -y ffmpeg ca-certificates tzdata") {
		t.Error("build tool detection")
	}
}

func writeAndParse(t *testing.T, src string) dockerfile {
	p := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return parseDockerfile(t, p)
}
