package k8stest

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// The kustomizations under deploy/k8s, each rendered by the tests.
var kustomizations = []string{
	"base",
	"overlays/kind",
	"overlays/production",
	"metallb",
	"monitoring",
}

// Object is one rendered manifest, decoded into its Go type.
type Object struct {
	Source     string // kustomization, relative to deploy/k8s
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	YAML       []byte
	Typed      any // *appsv1.Deployment, *corev1.Service, ...
}

func (o Object) String() string {
	return fmt.Sprintf("%s: %s %s/%s", o.Source, o.Kind, o.Namespace, o.Name)
}

// MetalLB's CRDs, with the fields the manifests may use: strict decoding
// refuses any other.
type IPAddressPool struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Addresses     []string `json:"addresses"`
		AutoAssign    *bool    `json:"autoAssign,omitempty"`
		AvoidBuggyIPs bool     `json:"avoidBuggyIPs,omitempty"`
	} `json:"spec"`
}

type L2Advertisement struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		IPAddressPools         []string               `json:"ipAddressPools,omitempty"`
		IPAddressPoolSelectors []metav1.LabelSelector `json:"ipAddressPoolSelectors,omitempty"`
		NodeSelectors          []metav1.LabelSelector `json:"nodeSelectors,omitempty"`
		Interfaces             []string               `json:"interfaces,omitempty"`
	} `json:"spec"`
}

// types maps apiVersion/kind to a constructor of its Go type. A kind not
// listed here fails the tests: every object must be checked against a
// schema.
var types = map[string]func() any{
	"v1/Namespace":                            func() any { return &corev1.Namespace{} },
	"v1/ConfigMap":                            func() any { return &corev1.ConfigMap{} },
	"v1/Service":                              func() any { return &corev1.Service{} },
	"v1/PersistentVolumeClaim":                func() any { return &corev1.PersistentVolumeClaim{} },
	"apps/v1/Deployment":                      func() any { return &appsv1.Deployment{} },
	"apps/v1/StatefulSet":                     func() any { return &appsv1.StatefulSet{} },
	"autoscaling/v2/HorizontalPodAutoscaler":  func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"policy/v1/PodDisruptionBudget":           func() any { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/NetworkPolicy":      func() any { return &networkingv1.NetworkPolicy{} },
	"monitoring.coreos.com/v1/PrometheusRule": func() any { return &monitoringv1.PrometheusRule{} },
	"monitoring.coreos.com/v1/PodMonitor":     func() any { return &monitoringv1.PodMonitor{} },
	"metallb.io/v1beta1/IPAddressPool":        func() any { return &IPAddressPool{} },
	"metallb.io/v1beta1/L2Advertisement":      func() any { return &L2Advertisement{} },
}

// repoRoot is the module root: tests run in deploy/k8stest.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("not the module root: %s", root)
	}
	return root
}

func deployPath(t testing.TB, parts ...string) string {
	return filepath.Join(append([]string{repoRoot(t), "deploy"}, parts...)...)
}

var (
	renderOnce sync.Once
	rendered   map[string][]Object
	renderErr  error
)

// render builds every kustomization once per test binary.
func render(t testing.TB) map[string][]Object {
	t.Helper()
	renderOnce.Do(func() {
		rendered = map[string][]Object{}
		for _, k := range kustomizations {
			objs, err := build(filepath.Join(repoRoot(t), "deploy", "k8s", k), k)
			if err != nil {
				renderErr = fmt.Errorf("%s: %w", k, err)
				return
			}
			rendered[k] = objs
		}
	})
	if renderErr != nil {
		t.Fatal(renderErr)
	}
	return rendered
}

// build runs kustomize (krusty, what `kubectl kustomize` runs) on dir and
// decodes each resource strictly.
func build(dir, source string) ([]Object, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize: %w", err)
	}
	var objs []Object
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return nil, err
		}
		o, err := decode(y)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", r.GetKind(), r.GetName(), err)
		}
		o.Source = source
		objs = append(objs, o)
	}
	return objs, nil
}

// decode reads one manifest into its API type the way the API server
// does: case-sensitive field names, no unknown field, no duplicate key.
func decode(y []byte) (Object, error) {
	j, err := yaml.YAMLToJSONStrict(y)
	if err != nil {
		return Object{}, err
	}
	var tm metav1.TypeMeta
	if err := kjson.UnmarshalCaseSensitivePreserveInts(j, &tm); err != nil {
		return Object{}, err
	}
	key := tm.APIVersion + "/" + tm.Kind
	mk, ok := types[key]
	if !ok {
		return Object{}, fmt.Errorf("no schema for %s: add its Go type to the tests", key)
	}
	v := mk()
	strict, err := kjson.UnmarshalStrict(j, v)
	if err != nil {
		return Object{}, err
	}
	if len(strict) > 0 {
		return Object{}, fmt.Errorf("strict decoding: %v", strict)
	}
	meta := reflect.ValueOf(v).Elem().FieldByName("ObjectMeta").Interface().(metav1.ObjectMeta)
	return Object{APIVersion: tm.APIVersion, Kind: tm.Kind, Name: meta.Name, Namespace: meta.Namespace, YAML: y, Typed: v}, nil
}

func objectMeta(o Object) *metav1.ObjectMeta {
	return reflect.ValueOf(o.Typed).Elem().FieldByName("ObjectMeta").Addr().Interface().(*metav1.ObjectMeta)
}

// find returns the one object of kind and name in a rendering.
func find[T any](t testing.TB, objs []Object, kind, name string) *T {
	t.Helper()
	var found *T
	for _, o := range objs {
		if o.Kind == kind && o.Name == name {
			if found != nil {
				t.Fatalf("two %s %s", kind, name)
			}
			found = o.Typed.(*T)
		}
	}
	if found == nil {
		t.Fatalf("%s %s: not rendered", kind, name)
	}
	return found
}

func all[T any](objs []Object, kind string) []*T {
	var out []*T
	for _, o := range objs {
		if o.Kind == kind {
			out = append(out, o.Typed.(*T))
		}
	}
	return out
}

// Workload is a Deployment or a StatefulSet, seen through its pod template.
type Workload struct {
	Kind, Name string
	Replicas   *int32
	Selector   *metav1.LabelSelector
	Template   *corev1.PodTemplateSpec
}

func workloads(objs []Object) []Workload {
	var out []Workload
	for _, o := range objs {
		switch v := o.Typed.(type) {
		case *appsv1.Deployment:
			out = append(out, Workload{"Deployment", v.Name, v.Spec.Replicas, v.Spec.Selector, &v.Spec.Template})
		case *appsv1.StatefulSet:
			out = append(out, Workload{"StatefulSet", v.Name, v.Spec.Replicas, v.Spec.Selector, &v.Spec.Template})
		}
	}
	return out
}

func TestKustomizationsRenderAndDecodeStrictly(t *testing.T) {
	r := render(t)
	for _, k := range kustomizations {
		if len(r[k]) == 0 {
			t.Errorf("%s renders nothing", k)
		}
		for _, o := range r[k] {
			meta := objectMeta(o)
			name := apivalidation.NameIsDNSSubdomain
			if o.Kind == "Service" || o.Kind == "Namespace" {
				name = apivalidation.NameIsDNS1035Label
			}
			namespaced := o.Kind != "Namespace"
			if errs := apivalidation.ValidateObjectMeta(meta, namespaced, name, nil); len(errs) > 0 {
				t.Errorf("%s: %v", o, errs.ToAggregate())
			}
			want := "ginflix"
			if o.Source == "metallb" {
				want = "metallb-system"
			}
			if namespaced && o.Namespace != want {
				t.Errorf("%s: namespace %q, want %q", o, o.Namespace, want)
			}
		}
	}
}

// The strict decoder itself: a typo'd or unknown field, a wrong case and
// a duplicate key are refused, and a kind without a schema too.
func TestDecoderIsStrict(t *testing.T) {
	good := "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n  - port: 80\n"
	if _, err := decode([]byte(good)); err != nil {
		t.Fatalf("valid Service refused: %v", err)
	}
	for name, y := range map[string]string{
		"unknown field":   "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  prots:\n  - port: 80\n",
		"wrong case":      "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  Ports:\n  - port: 80\n",
		"duplicate key":   "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n  name: y\n",
		"wrong type":      "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n  - port: eighty\n",
		"unknown kind":    "apiVersion: v1\nkind: Servise\nmetadata:\n  name: x\n",
		"metallb typo":    "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: x\nspec:\n  adresses: [1.2.3.4/32]\n",
		"rule field typo": "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: x\nspec:\n  groups:\n  - name: g\n    rules:\n    - alert: A\n      expression: up\n",
	} {
		if _, err := decode([]byte(y)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// What the API server would refuse between objects: selectors that miss
// their pods, references to objects or ports that are not there.
func TestReferencesResolve(t *testing.T) {
	for _, k := range []string{"overlays/kind", "overlays/production"} {
		objs := render(t)[k]
		ws := workloads(objs)
		configMaps := map[string]*corev1.ConfigMap{}
		for _, cm := range all[corev1.ConfigMap](objs, "ConfigMap") {
			configMaps[cm.Name] = cm
		}
		for _, w := range ws {
			sel, err := metav1.LabelSelectorAsSelector(w.Selector)
			if err != nil {
				t.Fatal(err)
			}
			if !sel.Matches(labelSet(w.Template.Labels)) {
				t.Errorf("%s: %s %s: selector %v does not match its template's labels", k, w.Kind, w.Name, w.Selector)
			}
			spec := &w.Template.Spec
			volumes := map[string]bool{}
			for _, v := range spec.Volumes {
				volumes[v.Name] = true
				if v.ConfigMap != nil && configMaps[v.ConfigMap.Name] == nil {
					t.Errorf("%s: %s: volume %s names ConfigMap %s, not rendered", k, w.Name, v.Name, v.ConfigMap.Name)
				}
				if v.PersistentVolumeClaim != nil && !hasObject(objs, "PersistentVolumeClaim", v.PersistentVolumeClaim.ClaimName) {
					t.Errorf("%s: %s: claim %s not rendered", k, w.Name, v.PersistentVolumeClaim.ClaimName)
				}
			}
			for _, c := range spec.Containers {
				for _, m := range c.VolumeMounts {
					if !volumes[m.Name] && !isClaimTemplate(objs, w, m.Name) {
						t.Errorf("%s: %s/%s mounts %s: no such volume", k, w.Name, c.Name, m.Name)
					}
				}
				for _, e := range c.EnvFrom {
					if e.ConfigMapRef != nil && configMaps[e.ConfigMapRef.Name] == nil {
						t.Errorf("%s: %s/%s: envFrom ConfigMap %s not rendered", k, w.Name, c.Name, e.ConfigMapRef.Name)
					}
				}
				for _, p := range []*corev1.Probe{c.StartupProbe, c.ReadinessProbe, c.LivenessProbe} {
					if p == nil {
						continue
					}
					var port *intOrString
					switch {
					case p.HTTPGet != nil:
						port = &intOrString{p.HTTPGet.Port.String()}
					case p.TCPSocket != nil:
						port = &intOrString{p.TCPSocket.Port.String()}
					}
					if port != nil && !containerHasPort(c, port.s) {
						t.Errorf("%s: %s/%s: a probe targets port %s, which the container does not declare", k, w.Name, c.Name, port.s)
					}
				}
			}
		}
		for _, s := range all[corev1.Service](objs, "Service") {
			var target []Workload
			for _, w := range ws {
				if len(s.Spec.Selector) > 0 && labelSet(s.Spec.Selector).AsSelector().Matches(labelSet(w.Template.Labels)) {
					target = append(target, w)
				}
			}
			if len(target) != 1 {
				t.Errorf("%s: Service %s selects %d workloads, want 1", k, s.Name, len(target))
				continue
			}
			for _, p := range s.Spec.Ports {
				ok := false
				for _, c := range target[0].Template.Spec.Containers {
					ok = ok || containerHasPort(c, p.TargetPort.String())
				}
				if !ok {
					t.Errorf("%s: Service %s port %s: targetPort %s is not a port of %s", k, s.Name, p.Name, p.TargetPort.String(), target[0].Name)
				}
			}
		}
		for _, h := range all[autoscalingv2HPA](objs, "HorizontalPodAutoscaler") {
			if h.Spec.ScaleTargetRef.Kind != "Deployment" || !hasObject(objs, "Deployment", h.Spec.ScaleTargetRef.Name) {
				t.Errorf("%s: HPA %s targets %s %s, not rendered", k, h.Name, h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name)
			}
		}
		for _, p := range all[policyv1.PodDisruptionBudget](objs, "PodDisruptionBudget") {
			sel, _ := metav1.LabelSelectorAsSelector(p.Spec.Selector)
			n := 0
			for _, w := range ws {
				if sel.Matches(labelSet(w.Template.Labels)) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%s: PodDisruptionBudget %s selects %d workloads, want 1", k, p.Name, n)
			}
		}
	}
}

type autoscalingv2HPA = autoscalingv2.HorizontalPodAutoscaler

type intOrString struct{ s string }

func containerHasPort(c corev1.Container, port string) bool {
	for _, p := range c.Ports {
		if p.Name == port || fmt.Sprint(p.ContainerPort) == port {
			return true
		}
	}
	return false
}

func isClaimTemplate(objs []Object, w Workload, name string) bool {
	if w.Kind != "StatefulSet" {
		return false
	}
	for _, o := range objs {
		if s, ok := o.Typed.(*appsv1.StatefulSet); ok && s.Name == w.Name {
			for _, c := range s.Spec.VolumeClaimTemplates {
				if c.Name == name {
					return true
				}
			}
		}
	}
	return false
}

func hasObject(objs []Object, kind, name string) bool {
	for _, o := range objs {
		if o.Kind == kind && o.Name == name {
			return true
		}
	}
	return false
}

// kubectl kustomize, where it is installed, renders the same objects: the
// manifests do not depend on this kustomize library's version.
func TestKubectlKustomizeAgrees(t *testing.T) {
	kubectl, err := lookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed: the in-process kustomize (the same code) rendered the overlays")
	}
	for _, k := range kustomizations {
		out, err := run(t, "", kubectl, "kustomize", deployPath(t, "k8s", k))
		if err != nil {
			t.Fatalf("kubectl kustomize %s: %v\n%s", k, err, out)
		}
		var theirs []string
		for _, doc := range strings.Split(string(out), "\n---\n") {
			o, err := decode([]byte(doc))
			if err != nil {
				t.Fatalf("kubectl kustomize %s: %v", k, err)
			}
			theirs = append(theirs, o.String())
		}
		var ours []string
		for _, o := range render(t)[k] {
			o.Source = ""
			ours = append(ours, o.String())
		}
		for i := range theirs {
			theirs[i] = strings.TrimPrefix(theirs[i], ": ")
		}
		for i := range ours {
			ours[i] = strings.TrimPrefix(ours[i], ": ")
		}
		sort.Strings(theirs)
		sort.Strings(ours)
		if !reflect.DeepEqual(theirs, ours) {
			t.Errorf("%s: kubectl kustomize renders\n%s\nthe tests render\n%s", k, strings.Join(theirs, "\n"), strings.Join(ours, "\n"))
		}
	}
}
