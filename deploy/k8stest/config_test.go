package k8stest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binOut  []byte
)

// ginflixBinary builds cmd/ginflix once per test binary.
func ginflixBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ginflix-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "ginflix")
		cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", binPath, "./cmd/ginflix")
		cmd.Dir = repoRoot(t)
		binOut, binErr = cmd.CombinedOutput()
	})
	if binErr != nil {
		t.Fatalf("go build ./cmd/ginflix: %v\n%s", binErr, binOut)
	}
	return binPath
}

// settings lists the variables `ginflix serve --help` documents, and which
// of them are secrets (they also read VAR_FILE).
func settings(t *testing.T) (all, secret map[string]bool) {
	out, err := exec.Command(ginflixBinary(t), "serve", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("serve --help: %v\n%s", err, out)
	}
	all, secret = map[string]bool{}, map[string]bool{}
	for _, m := range regexp.MustCompile(`(GINFLIX_[A-Z0-9_]+)( \*)?`).FindAllStringSubmatch(string(out), -1) {
		all[m[1]] = true
		if m[2] != "" {
			secret[m[1]] = true
		}
	}
	if len(all) < 20 {
		t.Fatalf("serve --help lists %d variables", len(all))
	}
	return all, secret
}

// ginflixContainers are the backend and streamer containers of an overlay.
func ginflixContainers(t *testing.T, overlay string) map[string]Workload {
	out := map[string]Workload{}
	for _, w := range workloads(render(t)[overlay]) {
		if w.Name == "backend" || w.Name == "streamer" {
			out[w.Name] = w
		}
	}
	if len(out) != 2 {
		t.Fatalf("%s: backend and streamer not both rendered", overlay)
	}
	return out
}

// podEnv is the environment the kubelet would give the container, from the
// rendered ConfigMaps and with test values standing for the Secrets.
func podEnv(t *testing.T, objs []Object, c corev1.Container, secretValue func(name, key string) string) map[string]string {
	env := map[string]string{}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil {
			t.Fatalf("%s: envFrom other than a ConfigMap", c.Name)
		}
		cm := find[corev1.ConfigMap](t, objs, "ConfigMap", ef.ConfigMapRef.Name)
		for k, v := range cm.Data {
			env[k] = v
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = secretValue(e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
		default:
			t.Fatalf("%s: env %s: unhandled valueFrom", c.Name, e.Name)
		}
	}
	return env
}

// Every GINFLIX_* variable the manifests set is one the binary reads: a
// misspelt name would be ignored silently.
func TestManifestSettingsExist(t *testing.T) {
	known, secret := settings(t)
	for _, k := range overlays {
		for name, w := range ginflixContainers(t, k) {
			env := podEnv(t, render(t)[k], w.Template.Spec.Containers[0], func(string, string) string { return "x" })
			for v := range env {
				base, isFile := strings.CutSuffix(v, "_FILE")
				switch {
				case isFile && !secret[base]:
					t.Errorf("%s: %s sets %s, but %s is not a secret setting (no _FILE form)", k, name, v, base)
				case !isFile && !known[v]:
					t.Errorf("%s: %s sets %s, which `ginflix serve --help` does not list", k, name, v)
				}
			}
		}
	}
}

// The ginflix binary accepts each overlay's backend and streamer
// configuration: it gets past validation (it creates its data directory,
// which it only does with a valid configuration) and then fails, or
// waits, on the unreachable MongoDB or S3 only.
func TestBinaryAcceptsManifestConfig(t *testing.T) {
	bin := ginflixBinary(t)
	secrets := map[string]string{
		"s3-credentials/access-key":  "ginflixTESTACCESS",
		"s3-credentials/secret-key":  "testsecret-testsecret-testsecret",
		"ginflix-playback-keys/keys": "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		"mongodb-credentials/uri":    "mongodb://ginflix:pw@mongodb:27017/?authSource=admin",
	}
	for _, k := range []string{"overlays/kind", "overlays/production"} {
		objs := render(t)[k]
		for name, w := range ginflixContainers(t, k) {
			t.Run(k+"/"+name, func(t *testing.T) {
				root := t.TempDir()
				spec := w.Template.Spec
				c := spec.Containers[0]
				value := func(n, key string) string {
					v, ok := secrets[n+"/"+key]
					if !ok {
						t.Fatalf("no test value for Secret %s key %s", n, key)
					}
					return v
				}
				env := podEnv(t, objs, c, value)
				// Mounts become directories under root; secret volumes get
				// their files.
				mounts := map[string]string{}
				for _, m := range c.VolumeMounts {
					local := filepath.Join(root, "mnt", m.Name)
					mounts[m.MountPath] = local
					for _, v := range spec.Volumes {
						if v.Name != m.Name || v.Projected == nil {
							continue
						}
						os.MkdirAll(local, 0o700)
						for _, s := range v.Projected.Sources {
							for _, it := range s.Secret.Items {
								if err := os.WriteFile(filepath.Join(local, it.Path), []byte(value(s.Secret.Name, it.Key)+"\n"), 0o600); err != nil {
									t.Fatal(err)
								}
							}
						}
					}
				}
				dataDir := ""
				for kname, v := range env {
					for mp, local := range mounts {
						if v == mp || strings.HasPrefix(v, mp+"/") {
							env[kname] = local + strings.TrimPrefix(v, mp)
						}
					}
					if kname == "GINFLIX_DATA_DIR" {
						dataDir = env[kname]
					}
				}
				if dataDir == "" {
					t.Fatal("no GINFLIX_DATA_DIR: the image's default would be used")
				}
				if _, err := os.Stat(dataDir); err == nil {
					t.Fatalf("%s exists before the start", dataDir)
				}
				env["GINFLIX_ADDR"] = "127.0.0.1:0" // the pod's 0.0.0.0:8080, here
				var list []string
				for kname, v := range env {
					list = append(list, kname+"="+v)
				}
				cmd := exec.Command(bin, c.Args...)
				cmd.Env = append(list, "PATH="+os.Getenv("PATH"))
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				exited := make(chan error, 1)
				go func() { exited <- cmd.Wait() }()
				defer func() {
					cmd.Process.Kill()
					<-exited
				}()
				deadline := time.After(30 * time.Second)
				for {
					if _, err := os.Stat(dataDir); err == nil {
						return // validated, and serving started
					}
					select {
					case err := <-exited:
						exited <- err
						t.Fatalf("ginflix exited before creating its data directory (%v):\n%s", err, out.String())
					case <-deadline:
						t.Fatalf("ginflix neither started nor exited in 30 s:\n%s", out.String())
					case <-time.After(20 * time.Millisecond):
					}
				}
			})
		}
	}
}

// The Secrets the manifests read are the ones up.sh creates on kind, with
// the same keys, and the ones deploy/k8s/README.md tells production to
// create.
func TestSecretsAreProvided(t *testing.T) {
	up, err := os.ReadFile(deployPath(t, "kind", "up.sh"))
	if err != nil {
		t.Fatal(err)
	}
	created := map[string][]string{}
	for _, line := range strings.Split(strings.ReplaceAll(string(up), "\\\n", " "), "\n") {
		m := regexp.MustCompile(`^\s*secret ([a-z0-9-]+) (.*)`).FindStringSubmatch(line)
		if m == nil {
			continue
		}
		for _, kv := range regexp.MustCompile(`--from-literal=([a-z0-9-]+)=`).FindAllStringSubmatch(m[2], -1) {
			created[m[1]] = append(created[m[1]], kv[1])
		}
	}
	readme, err := os.ReadFile(deployPath(t, "k8s", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"overlays/kind", "overlays/production"} {
		for _, w := range workloads(render(t)[k]) {
			for sec, keys := range secretKeys(w.Template.Spec) {
				for _, key := range keys {
					if k == "overlays/kind" && !slices.Contains(created[sec], key) {
						t.Errorf("%s: %s reads Secret %s key %s, which up.sh does not create", k, w.Name, sec, key)
					}
					if k == "overlays/production" && !strings.Contains(string(readme), "`"+sec+"`") {
						t.Errorf("%s: %s reads Secret %s, which deploy/k8s/README.md does not tell how to create", k, w.Name, sec)
					}
				}
			}
		}
	}
}

func secretKeys(spec corev1.PodSpec) map[string][]string {
	out := map[string][]string{}
	for _, v := range spec.Volumes {
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.Secret != nil {
					for _, it := range s.Secret.Items {
						out[s.Secret.Name] = append(out[s.Secret.Name], it.Key)
					}
				}
			}
		}
		if v.Secret != nil {
			for _, it := range v.Secret.Items {
				out[v.Secret.SecretName] = append(out[v.Secret.SecretName], it.Key)
			}
		}
	}
	for _, c := range spec.Containers {
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				out[e.ValueFrom.SecretKeyRef.Name] = append(out[e.ValueFrom.SecretKeyRef.Name], e.ValueFrom.SecretKeyRef.Key)
			}
		}
	}
	return out
}

// The streamer's memory cache fits in its memory limit.
func TestStreamerCacheFitsItsLimit(t *testing.T) {
	for _, k := range overlays {
		w := ginflixContainers(t, k)["streamer"]
		c := w.Template.Spec.Containers[0]
		env := podEnv(t, render(t)[k], c, func(string, string) string { return "" })
		v := env["GINFLIX_STREAMER_CACHE_SIZE"]
		mib, ok := strings.CutSuffix(v, "MiB")
		if !ok {
			t.Fatalf("%s: GINFLIX_STREAMER_CACHE_SIZE %q: want an explicit size in MiB (the default 256MiB is the whole limit)", k, v)
		}
		var n int64
		for _, ch := range mib {
			n = n*10 + int64(ch-'0')
		}
		limit := c.Resources.Limits.Memory().Value()
		if n<<20 > limit/2 {
			t.Errorf("%s: streamer caches %s in a %d MiB limit: leave the process room", k, v, limit>>20)
		}
	}
}
