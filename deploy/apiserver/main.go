// Command apiserver dry-runs every kustomization under deploy/k8s against a
// real kube-apiserver: it starts etcd and kube-apiserver (built by
// build.sh) on loopback, installs the CRDs the manifests use, creates the
// namespaces, then applies each rendered object with
//
//	kubectl apply --server-side --dry-run=server --validate=strict
//
// so that what only the API server checks (defaulting then validation,
// selectors against template labels, HPA min <= max, immutable and
// cross-field rules, Pod Security admission on the workloads, CRD schemas)
// is checked too. It prints one line per object and exits 1 on any
// error or warning. Run it with deploy/apiserver/run.sh (make
// verify-k8s-apiserver).
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/yaml"
)

// kustomizations are the ones deploy/k8stest renders, in the order an
// operator applies them.
var kustomizations = []string{"metallb", "base", "monitoring", "overlays/kind", "overlays/production"}

// namespaces exist before the dry-runs: a dry-run creates nothing, so the
// objects of a namespace rendered alongside them would find none.
var namespaces = []string{"metallb-system", "monitoring"}

func main() {
	bin := flag.String("bin", ".cache/k8s/bin", "directory holding kube-apiserver and etcd")
	k8s := flag.String("k8s", "deploy/k8s", "the kustomizations' root")
	keep := flag.Bool("keep", false, "leave the scratch directory (logs, kubeconfig) in place")
	flag.Parse()
	if err := run(*bin, *k8s, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "verify-k8s-apiserver:", err)
		os.Exit(1)
	}
}

func run(bin, k8s string, keep bool) (err error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, tool := range []string{filepath.Join(bin, "kube-apiserver"), filepath.Join(bin, "etcd")} {
		if _, err := os.Stat(tool); err != nil {
			return fmt.Errorf("%w (deploy/apiserver/build.sh builds it)", err)
		}
	}
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		return errors.New("kubectl is not installed")
	}
	dir, err := os.MkdirTemp("", "ginflix-apiserver-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Println("scratch directory:", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	etcdClient, etcdPeer := freePort(), freePort()
	etcd, err := start(ctx, dir, "etcd", filepath.Join(bin, "etcd"),
		"--name=default", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls=http://127.0.0.1:"+etcdClient, "--advertise-client-urls=http://127.0.0.1:"+etcdClient,
		"--listen-peer-urls=http://127.0.0.1:"+etcdPeer, "--initial-advertise-peer-urls=http://127.0.0.1:"+etcdPeer,
		"--initial-cluster=default=http://127.0.0.1:"+etcdPeer,
		// Scratch data: durability buys nothing here.
		"--unsafe-no-fsync", "--log-level=warn")
	if err != nil {
		return err
	}
	defer etcd.stop()
	if err := waitHTTP(ctx, etcd, "http://127.0.0.1:"+etcdClient+"/health", "", nil, 30*time.Second); err != nil {
		return err
	}

	pki, err := newPKI(dir)
	if err != nil {
		return err
	}
	port := freePort()
	api, err := start(ctx, dir, "kube-apiserver", filepath.Join(bin, "kube-apiserver"),
		"--etcd-servers=http://127.0.0.1:"+etcdClient,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+port,
		// No kubernetes Service endpoints: loopback may not be advertised
		// there, and nothing here connects through that Service.
		"--endpoint-reconciler-type=none",
		"--tls-cert-file="+pki.cert, "--tls-private-key-file="+pki.key,
		"--token-auth-file="+pki.tokens, "--authorization-mode=RBAC",
		"--service-account-key-file="+pki.saPub, "--service-account-signing-key-file="+pki.saKey,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=10.96.0.0/16",
		"--enable-priority-and-fairness=false", "--profiling=false", "-v=1")
	if err != nil {
		return err
	}
	defer api.stop()
	server := "https://127.0.0.1:" + port
	if err := waitHTTP(ctx, api, server+"/readyz", pki.token, pki.pool, 3*time.Minute); err != nil {
		return err
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters: [{name: dry-run, cluster: {server: %q, certificate-authority-data: %s}}]
users: [{name: admin, user: {token: %q}}]
contexts: [{name: dry-run, context: {cluster: dry-run, user: admin}}]
current-context: dry-run
`, server, base64.StdEncoding.EncodeToString(pki.caPEM), pki.token), 0o600); err != nil {
		return err
	}
	k := func(stdin []byte, args ...string) (stdout, stderr string, err error) {
		cmd := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig=" + kubeconfig, "--cache-dir=" + filepath.Join(dir, "kube-cache")}, args...)...)
		var o, e bytes.Buffer
		cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(stdin), &o, &e
		err = cmd.Run()
		return o.String(), e.String(), err
	}
	version, _, err := k(nil, "version", "-o", "yaml")
	if err != nil {
		return fmt.Errorf("kubectl version: %w", err)
	}
	if m := regexp.MustCompile(`(?m)serverVersion:(?:\n .*)*?\n  gitVersion: (\S+)`).FindStringSubmatch(version); m != nil {
		fmt.Println("kube-apiserver", m[1], "on", server)
	}

	// What the cluster has before Ginflix: the CRDs of MetalLB and the
	// Prometheus Operator, the namespace with its Pod Security labels (so
	// that admission judges the workloads), and the others' namespaces.
	here := filepath.Join(filepath.Dir(k8s), "apiserver")
	refusedDir := filepath.Join(here, "testdata", "refused")
	crds, err := os.ReadFile(filepath.Join(here, "crds.yaml"))
	if err != nil {
		return err
	}
	if _, e, err := k(crds, "apply", "--server-side", "-f", "-"); err != nil {
		return fmt.Errorf("installing the CRDs: %v\n%s", err, e)
	}
	if _, e, err := k(nil, "wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"); err != nil {
		return fmt.Errorf("CRDs not established: %v\n%s", err, e)
	}
	ns, err := os.ReadFile(filepath.Join(k8s, "base", "namespace.yaml"))
	if err != nil {
		return err
	}
	if _, e, err := k(ns, "apply", "--server-side", "-f", "-"); err != nil {
		return fmt.Errorf("creating the namespace: %v\n%s", err, e)
	}
	for _, n := range namespaces {
		if _, e, err := k(nil, "create", "namespace", n); err != nil {
			return fmt.Errorf("creating namespace %s: %v\n%s", n, err, e)
		}
	}

	var failures []string
	passed := 0
	for _, kz := range kustomizations {
		fmt.Printf("\n%s\n", kz)
		objs, err := render(k, filepath.Join(k8s, kz))
		if err != nil {
			fmt.Printf("  FAIL %v\n", err)
			failures = append(failures, kz)
			continue
		}
		for _, o := range objs {
			r := dryRun(k, o)
			switch {
			case r.err != "":
				fmt.Printf("  FAIL %s: %s\n", o.name, r.err)
			case len(r.warnings) > 0:
				// Accepted, with a complaint: a deprecated field, or pods
				// that Pod Security admission would refuse.
				fmt.Printf("  FAIL %s: %s\n", o.name, strings.Join(r.warnings, "; "))
			default:
				fmt.Printf("  ok   %s\n", o.name)
				passed++
				continue
			}
			failures = append(failures, kz+": "+o.name)
		}
	}
	fmt.Printf("\n%d passed, %d failed\n", passed, len(failures))

	// The same run on mistakes it must catch: were the checks above not
	// made (a client-side dry-run, validation off), these would pass.
	fmt.Printf("\nrefused on purpose (%s)\n", refusedDir)
	objs, err := render(k, refusedDir)
	if err != nil {
		return err
	}
	for _, o := range objs {
		r := dryRun(k, o)
		got := r.err + " " + strings.Join(r.warnings, "; ")
		if o.expect == "" || !strings.Contains(got, o.expect) {
			fmt.Printf("  FAIL %s: want %q, got %q\n", o.name, o.expect, strings.TrimSpace(got))
			failures = append(failures, "refused: "+o.name)
			continue
		}
		fmt.Printf("  ok   %s: %s\n", o.name, o.expect)
	}
	if len(failures) > 0 {
		return fmt.Errorf("%d failure(s):\n  %s", len(failures), strings.Join(failures, "\n  "))
	}
	return nil
}

// object is one document of a kustomization's output.
type object struct {
	name, expect string
	doc          []byte
}

func render(k kubectlFunc, dir string) ([]object, error) {
	out, e, err := k(nil, "kustomize", dir)
	if err != nil {
		return nil, fmt.Errorf("kubectl kustomize %s: %v\n%s", dir, err, e)
	}
	var objs []object
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(out, -1) {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var meta struct {
			Kind     string
			Metadata struct {
				Name, Namespace string
				Annotations     map[string]string
			}
		}
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
		name := meta.Kind + " " + meta.Metadata.Name
		if meta.Metadata.Namespace != "" {
			name = meta.Kind + " " + meta.Metadata.Namespace + "/" + meta.Metadata.Name
		}
		objs = append(objs, object{name: name, expect: meta.Metadata.Annotations["ginflix.test/expect"], doc: []byte(doc)})
	}
	return objs, nil
}

type result struct {
	err      string
	warnings []string
}

type kubectlFunc func(stdin []byte, args ...string) (stdout, stderr string, err error)

// dryRun applies one object as its owner would (server-side apply), with
// the API server's strict field validation, and persists nothing.
func dryRun(k kubectlFunc, o object) result {
	out, e, err := k(o.doc, "apply", "--server-side", "--dry-run=server", "--validate=strict",
		"--field-manager=ginflix-dry-run", "-f", "-")
	r := result{warnings: warningLines(e)}
	switch {
	case err != nil:
		r.err = oneLine(e)
	case !strings.Contains(out, "(server dry run)"):
		r.err = "unexpected answer: " + oneLine(out)
	}
	return r
}

func warningLines(stderr string) []string {
	var w []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "Warning: ") {
			w = append(w, strings.TrimPrefix(l, "Warning: "))
		}
	}
	return w
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func freePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return p
}

// proc is a server this program started; its output goes to DIR/NAME.log.
type proc struct {
	name, log string
	cmd       *exec.Cmd
	done      chan struct{}
}

func start(ctx context.Context, dir, name, path string, args ...string) (*proc, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &proc{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); f.Close(); close(p.done) }()
	go func() {
		select {
		case <-ctx.Done():
			p.stop()
		case <-p.done:
		}
	}()
	return p, nil
}

func (p *proc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// waitHTTP polls url until it answers 200, the process exits or the time
// is up.
func waitHTTP(ctx context.Context, p *proc, url, token string, pool *x509.CertPool, limit time.Duration) error {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	deadline := time.Now().Add(limit)
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := c.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			last = res.Status
		} else {
			last = err.Error()
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited:\n%s", p.name, p.tail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready in %s (%s):\n%s", p.name, limit, last, p.tail())
		}
	}
}

// pki is what the API server needs to start: a serving certificate from a
// throwaway CA, the service-account signing key, a static admin token.
type pki struct {
	cert, key, saKey, saPub, tokens string
	caPEM                           []byte
	pool                            *x509.CertPool
	token                           string
}

func newPKI(dir string) (*pki, error) {
	p := &pki{
		cert: filepath.Join(dir, "apiserver.crt"), key: filepath.Join(dir, "apiserver.key"),
		saKey: filepath.Join(dir, "sa.key"), saPub: filepath.Join(dir, "sa.pub"), tokens: filepath.Join(dir, "tokens.csv"),
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ginflix dry-run CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, _ := x509.ParseCertificate(caDER)
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kube-apiserver"},
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default.svc"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	srvKeyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		return nil, err
	}
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	saPub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, err
	}
	tok := make([]byte, 24)
	rand.Read(tok)
	p.token = hex.EncodeToString(tok)
	p.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	p.pool = x509.NewCertPool()
	p.pool.AddCert(ca)
	for path, content := range map[string][]byte{
		p.cert:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER}),
		p.key:   pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: srvKeyDER}),
		p.saKey: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)}),
		p.saPub: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPub}),
		// system:masters: the dry-runs need every verb on every resource.
		p.tokens: fmt.Appendf(nil, "%s,ginflix-dry-run,ginflix-dry-run,system:masters\n", p.token),
	} {
		if err := os.WriteFile(path, content, 0o600); err != nil {
			return nil, err
		}
	}
	return p, nil
}
