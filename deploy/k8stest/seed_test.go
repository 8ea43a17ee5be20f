package k8stest

import (
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// The seed's numbers (seed/000_a8afe5fccaa11a3f.txt), one row per service.
type seedService struct {
	name                     string
	image                    string // base image, registry.gin-telecom.ovh/...
	fixedReplicas            int32  // 0: the HPA owns the count
	minReplicas, maxReplicas int32
	reqCPU, reqMem           string
	limCPU, limMem           string
	containerPort            int32
	servicePort              int32
	lbIP                     string
	healthPath               string // the seed's load balancer health check
	antiAffinity             bool
	secrets                  []string
	configMap                bool
}

var seedServices = []seedService{
	{name: "frontend", image: "registry.gin-telecom.ovh/ginflix/frontend:latest", minReplicas: 2, maxReplicas: 4,
		reqCPU: "50m", reqMem: "64Mi", limCPU: "100m", limMem: "128Mi", containerPort: 8080, servicePort: 80,
		lbIP: "172.18.255.201", healthPath: "/health", antiAffinity: true, configMap: true},
	{name: "frontend-admin", image: "registry.gin-telecom.ovh/ginflix/frontend-admin:latest", fixedReplicas: 2,
		reqCPU: "50m", reqMem: "64Mi", limCPU: "100m", limMem: "128Mi", containerPort: 8080, servicePort: 80,
		lbIP: "172.18.255.202", healthPath: "/health", configMap: true},
	{name: "backend", image: "registry.gin-telecom.ovh/ginflix/backend:latest", minReplicas: 2, maxReplicas: 8,
		reqCPU: "250m", reqMem: "256Mi", limCPU: "500m", limMem: "512Mi", containerPort: 8080, servicePort: 8080,
		lbIP: "172.18.255.203", healthPath: "/api/health", antiAffinity: true, secrets: []string{"s3-credentials"}, configMap: true},
	{name: "streamer", image: "registry.gin-telecom.ovh/ginflix/streamer:latest", minReplicas: 2, maxReplicas: 5,
		reqCPU: "100m", reqMem: "128Mi", limCPU: "200m", limMem: "256Mi", containerPort: 8080, servicePort: 8080,
		lbIP: "172.18.255.204", healthPath: "/stream/health", antiAffinity: true, secrets: []string{"s3-credentials"}},
}

var overlays = []string{"base", "overlays/kind", "overlays/production"}

func TestSeedServices(t *testing.T) {
	for _, k := range overlays {
		objs := render(t)[k]
		for _, s := range seedServices {
			t.Run(k+"/"+s.name, func(t *testing.T) {
				d := find[appsv1.Deployment](t, objs, "Deployment", s.name)
				hpa := findHPA(objs, s.name)
				if s.fixedReplicas > 0 {
					if d.Spec.Replicas == nil || *d.Spec.Replicas != s.fixedReplicas {
						t.Errorf("replicas %v, want %d", d.Spec.Replicas, s.fixedReplicas)
					}
					if hpa != nil {
						t.Errorf("fixed at %d replicas, yet HPA %s scales it", s.fixedReplicas, hpa.Name)
					}
				} else {
					if d.Spec.Replicas != nil {
						t.Errorf("replicas set to %d: the HPA owns the count, apply would fight it", *d.Spec.Replicas)
					}
					if hpa == nil {
						t.Fatal("no HPA")
					}
					if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas != s.minReplicas || hpa.Spec.MaxReplicas != s.maxReplicas {
						t.Errorf("HPA %v-%d, want %d-%d", hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas, s.minReplicas, s.maxReplicas)
					}
				}
				if len(d.Spec.Template.Spec.Containers) != 1 {
					t.Fatalf("%d containers, want 1", len(d.Spec.Template.Spec.Containers))
				}
				c := d.Spec.Template.Spec.Containers[0]
				checkResources(t, c, s.reqCPU, s.reqMem, s.limCPU, s.limMem)
				wantImage := s.image
				if k == "overlays/kind" {
					wantImage = "ginflix/" + s.name + ":dev"
				}
				if c.Image != wantImage {
					t.Errorf("image %s, want %s", c.Image, wantImage)
				}
				if len(c.Ports) != 1 || c.Ports[0].ContainerPort != s.containerPort || c.Ports[0].Name != "http" {
					t.Errorf("ports %+v, want http %d", c.Ports, s.containerPort)
				}
				aa := d.Spec.Template.Spec.Affinity
				if s.antiAffinity {
					if aa == nil || aa.PodAntiAffinity == nil || len(aa.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 1 ||
						len(aa.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) != 0 {
						t.Fatalf("want one preferred pod anti-affinity term (seed), got %+v", aa)
					}
					term := aa.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm
					if term.TopologyKey != "kubernetes.io/hostname" || term.LabelSelector == nil || term.LabelSelector.MatchLabels["app"] != s.name {
						t.Errorf("anti-affinity term %+v: want its own pods, by node", term)
					}
				}
				svc := find[corev1.Service](t, objs, "Service", s.name)
				if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
					t.Errorf("Service type %s, want LoadBalancer (MetalLB)", svc.Spec.Type)
				}
				if ip := svc.Annotations["metallb.io/loadBalancerIPs"]; ip != s.lbIP {
					t.Errorf("LoadBalancer IP %q, want %s", ip, s.lbIP)
				}
				if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != s.servicePort || svc.Spec.Ports[0].TargetPort.String() != "http" {
					t.Errorf("Service ports %+v, want %d -> http", svc.Spec.Ports, s.servicePort)
				}
				// A LoadBalancer's health check is its endpoints' probes:
				// only pods answering the seed's path get traffic.
				if !probesPath(c, s.healthPath) {
					t.Errorf("no probe on the seed's health check %s", s.healthPath)
				}
				if s.configMap && !envFromConfigMap(c, "ginflix-config") {
					t.Errorf("does not read ConfigMap ginflix-config")
				}
				for _, sec := range s.secrets {
					if !slices.Contains(secretsOf(d.Spec.Template.Spec), sec) {
						t.Errorf("does not use Secret %s", sec)
					}
				}
			})
		}
	}
}

func TestSeedHPABehaviour(t *testing.T) {
	for _, k := range overlays {
		objs := render(t)[k]
		b := findHPA(objs, "backend")
		wantMetrics(t, "backend", b, map[corev1.ResourceName]int32{corev1.ResourceCPU: 40, corev1.ResourceMemory: 50})
		up := b.Spec.Behavior.ScaleUp
		if up == nil || up.StabilizationWindowSeconds == nil || *up.StabilizationWindowSeconds != 15 {
			t.Fatalf("%s: backend scale-up window %+v, want 15 s", k, up)
		}
		if up.SelectPolicy != nil && *up.SelectPolicy != autoscalingv2.MaxChangePolicySelect {
			t.Errorf("%s: backend selectPolicy %s: +3 pods OR +100 %% means the larger (Max)", k, *up.SelectPolicy)
		}
		wantPolicies(t, k+" backend", up.Policies, map[autoscalingv2.HPAScalingPolicyType]int32{autoscalingv2.PodsScalingPolicy: 3, autoscalingv2.PercentScalingPolicy: 100})

		f := findHPA(objs, "frontend")
		wantMetrics(t, "frontend", f, map[corev1.ResourceName]int32{corev1.ResourceCPU: 60})
		up = f.Spec.Behavior.ScaleUp
		if up == nil || up.StabilizationWindowSeconds == nil || *up.StabilizationWindowSeconds != 15 {
			t.Fatalf("%s: frontend scale-up window %+v, want 15 s", k, up)
		}
		wantPolicies(t, k+" frontend", up.Policies, map[autoscalingv2.HPAScalingPolicyType]int32{autoscalingv2.PodsScalingPolicy: 2})

		s := findHPA(objs, "streamer")
		if len(s.Spec.Metrics) == 0 {
			t.Errorf("%s: streamer HPA has no metric", k)
		}
	}
}

func wantMetrics(t *testing.T, name string, h *autoscalingv2.HorizontalPodAutoscaler, want map[corev1.ResourceName]int32) {
	t.Helper()
	got := map[corev1.ResourceName]int32{}
	for _, m := range h.Spec.Metrics {
		if m.Type != autoscalingv2.ResourceMetricSourceType || m.Resource == nil || m.Resource.Target.Type != autoscalingv2.UtilizationMetricType || m.Resource.Target.AverageUtilization == nil {
			t.Errorf("%s: metric %+v: want resource utilization", name, m)
			continue
		}
		got[m.Resource.Name] = *m.Resource.Target.AverageUtilization
	}
	if !mapsEqual(got, want) {
		t.Errorf("%s HPA targets %v, want %v", name, got, want)
	}
}

func wantPolicies(t *testing.T, name string, ps []autoscalingv2.HPAScalingPolicy, want map[autoscalingv2.HPAScalingPolicyType]int32) {
	t.Helper()
	got := map[autoscalingv2.HPAScalingPolicyType]int32{}
	for _, p := range ps {
		got[p.Type] = p.Value
		if p.PeriodSeconds <= 0 || p.PeriodSeconds > 15 {
			t.Errorf("%s: policy %+v: a period of at most the 15 s window", name, p)
		}
	}
	if !mapsEqual(got, want) {
		t.Errorf("%s scale-up policies %v, want %v", name, got, want)
	}
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func findHPA(objs []Object, target string) *autoscalingv2.HorizontalPodAutoscaler {
	for _, h := range all[autoscalingv2.HorizontalPodAutoscaler](objs, "HorizontalPodAutoscaler") {
		if h.Spec.ScaleTargetRef.Name == target {
			return h
		}
	}
	return nil
}

func checkResources(t *testing.T, c corev1.Container, reqCPU, reqMem, limCPU, limMem string) {
	t.Helper()
	for _, x := range []struct {
		what string
		list corev1.ResourceList
		name corev1.ResourceName
		want string
	}{
		{"requests", c.Resources.Requests, corev1.ResourceCPU, reqCPU},
		{"requests", c.Resources.Requests, corev1.ResourceMemory, reqMem},
		{"limits", c.Resources.Limits, corev1.ResourceCPU, limCPU},
		{"limits", c.Resources.Limits, corev1.ResourceMemory, limMem},
	} {
		got, ok := x.list[x.name]
		if !ok || got.Cmp(resource.MustParse(x.want)) != 0 {
			t.Errorf("%s %s %s: %v, want %s", c.Name, x.what, x.name, got.String(), x.want)
		}
	}
}

func probesPath(c corev1.Container, path string) bool {
	for _, p := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe} {
		if p != nil && p.HTTPGet != nil && p.HTTPGet.Path == path {
			return true
		}
	}
	return false
}

func envFromConfigMap(c corev1.Container, base string) bool {
	for _, e := range c.EnvFrom {
		// kustomize appends a content hash to generated ConfigMaps.
		if e.ConfigMapRef != nil && (e.ConfigMapRef.Name == base || strings.HasPrefix(e.ConfigMapRef.Name, base+"-")) {
			return true
		}
	}
	return false
}

// secretsOf lists the Secrets a pod reads, through volumes or env.
func secretsOf(spec corev1.PodSpec) []string {
	var out []string
	for _, v := range spec.Volumes {
		if v.Secret != nil {
			out = append(out, v.Secret.SecretName)
		}
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.Secret != nil {
					out = append(out, s.Secret.Name)
				}
			}
		}
	}
	for _, c := range append(spec.InitContainers, spec.Containers...) {
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				out = append(out, e.ValueFrom.SecretKeyRef.Name)
			}
		}
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				out = append(out, e.SecretRef.Name)
			}
		}
	}
	return out
}

func TestSeedMongoDB(t *testing.T) {
	for _, k := range overlays {
		objs := render(t)[k]
		if hasObject(objs, "Deployment", "mongodb") {
			t.Errorf("%s: MongoDB is a Deployment: the seed recommends a StatefulSet", k)
		}
		s := find[appsv1.StatefulSet](t, objs, "StatefulSet", "mongodb")
		if s.Spec.Replicas == nil || *s.Spec.Replicas != 1 {
			t.Errorf("%s: mongodb replicas %v, want 1", k, s.Spec.Replicas)
		}
		c := s.Spec.Template.Spec.Containers[0]
		if c.Image != "mongo:5.0" {
			t.Errorf("%s: image %s, want the seed's mongo:5.0", k, c.Image)
		}
		checkResources(t, c, "100m", "256Mi", "200m", "512Mi")
		if len(c.Ports) != 1 || c.Ports[0].ContainerPort != 27017 {
			t.Errorf("%s: mongodb ports %+v, want 27017", k, c.Ports)
		}
		na := s.Spec.Template.Spec.Affinity
		if na == nil || na.NodeAffinity == nil || na.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil ||
			len(na.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms) == 0 {
			t.Errorf("%s: mongodb has no required node affinity (seed: node affinity forte)", k)
		}
		pvc := find[corev1.PersistentVolumeClaim](t, objs, "PersistentVolumeClaim", "mongodb-pvc")
		if !slices.Equal(pvc.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}) {
			t.Errorf("%s: mongodb-pvc access modes %v, want ReadWriteOnce", k, pvc.Spec.AccessModes)
		}
		if q := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; q.Cmp(resource.MustParse("5Gi")) != 0 {
			t.Errorf("%s: mongodb-pvc %s, want 5Gi", k, q.String())
		}
		if pvc.Spec.StorageClassName != nil {
			t.Errorf("%s: mongodb-pvc storage class %q: the seed wants the default one", k, *pvc.Spec.StorageClassName)
		}
		mounted := false
		for _, v := range s.Spec.Template.Spec.Volumes {
			if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == "mongodb-pvc" {
				for _, m := range c.VolumeMounts {
					mounted = mounted || (m.Name == v.Name && m.MountPath == "/data/db")
				}
			}
		}
		if !mounted {
			t.Errorf("%s: mongodb-pvc is not mongod's /data/db", k)
		}
		headless := find[corev1.Service](t, objs, "Service", s.Spec.ServiceName)
		if headless.Spec.ClusterIP != corev1.ClusterIPNone {
			t.Errorf("%s: %s is the StatefulSet's serviceName but not headless", k, headless.Name)
		}
		svc := find[corev1.Service](t, objs, "Service", "mongodb")
		if svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Spec.ClusterIP == corev1.ClusterIPNone {
			t.Errorf("%s: Service mongodb: %s %s, want a ClusterIP", k, svc.Spec.Type, svc.Spec.ClusterIP)
		}
		// "Service: ClusterIP (interne uniquement)": nothing exposes it.
		for _, o := range all[corev1.Service](objs, "Service") {
			if o.Spec.Selector["app"] == "mongodb" && o.Spec.Type != corev1.ServiceTypeClusterIP && o.Spec.Type != "" {
				t.Errorf("%s: Service %s exposes MongoDB as %s", k, o.Name, o.Spec.Type)
			}
		}
	}
}

func TestSeedLoadBalancerAddresses(t *testing.T) {
	m := render(t)["metallb"]
	pool := find[IPAddressPool](t, m, "IPAddressPool", "metallb-ippool")
	if !slices.Equal(pool.Spec.Addresses, []string{"172.18.255.200-172.18.255.250"}) || pool.Spec.AutoAssign == nil || !*pool.Spec.AutoAssign {
		t.Errorf("pool %+v, want the seed's 172.18.255.200-172.18.255.250, autoAssign", pool.Spec)
	}
	adv := all[L2Advertisement](m, "L2Advertisement")
	if len(adv) != 1 || !slices.Equal(adv[0].Spec.IPAddressPools, []string{"metallb-ippool"}) {
		t.Errorf("want one L2Advertisement of metallb-ippool, got %+v", adv)
	}
	lo, hi := netip.MustParseAddr("172.18.255.200"), netip.MustParseAddr("172.18.255.250")
	for _, k := range overlays {
		seen := map[string]string{}
		for _, s := range all[corev1.Service](render(t)[k], "Service") {
			if s.Spec.Type != corev1.ServiceTypeLoadBalancer {
				continue
			}
			ip := s.Annotations["metallb.io/loadBalancerIPs"]
			a, err := netip.ParseAddr(ip)
			if err != nil || a.Less(lo) || hi.Less(a) {
				t.Errorf("%s: Service %s asks for %q, outside the pool", k, s.Name, ip)
			}
			if other, dup := seen[ip]; dup {
				t.Errorf("%s: Services %s and %s both ask for %s", k, other, s.Name, ip)
			}
			seen[ip] = s.Name
		}
	}
}

// kindConfig is kind's v1alpha4 Cluster, the fields used.
type kindConfig struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Name       string `json:"name"`
	Networking struct {
		PodSubnet     string `json:"podSubnet"`
		ServiceSubnet string `json:"serviceSubnet"`
	} `json:"networking"`
	Nodes []struct {
		Role   string            `json:"role"`
		Labels map[string]string `json:"labels,omitempty"`
	} `json:"nodes"`
}

func readStrict(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSONStrict(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	strict, err := kjson.UnmarshalStrict(j, v)
	if err != nil || len(strict) > 0 {
		t.Fatalf("%s: %v %v", path, err, strict)
	}
}

func TestSeedKindCluster(t *testing.T) {
	var c kindConfig
	readStrict(t, deployPath(t, "kind", "kind-config.yaml"), &c)
	if c.Kind != "Cluster" || c.APIVersion != "kind.x-k8s.io/v1alpha4" || c.Name != "ginflix-cluster" {
		t.Errorf("kind config %s %s %s", c.APIVersion, c.Kind, c.Name)
	}
	var roles []string
	mongoNodes := 0
	for _, n := range c.Nodes {
		roles = append(roles, n.Role)
		if n.Labels["ginflix.gin-telecom.ovh/mongodb"] == "true" {
			mongoNodes++
			if n.Role != "worker" {
				t.Errorf("MongoDB's node is a %s", n.Role)
			}
		}
	}
	if !slices.Equal(roles, []string{"control-plane", "worker", "worker"}) {
		t.Errorf("nodes %v, want the seed's control-plane + 2 workers", roles)
	}
	if mongoNodes != 1 {
		t.Errorf("%d nodes carry MongoDB's label, want 1 (its required node affinity)", mongoNodes)
	}
	// The network policies' "load balancer" ipBlock excludes the pod network.
	for _, np := range all[networkingv1.NetworkPolicy](render(t)["base"], "NetworkPolicy") {
		for _, r := range np.Spec.Ingress {
			for _, p := range r.From {
				if p.IPBlock != nil && p.IPBlock.CIDR == "0.0.0.0/0" && !slices.Contains(p.IPBlock.Except, c.Networking.PodSubnet) {
					t.Errorf("NetworkPolicy %s: its ipBlock does not except kind's pod network %s", np.Name, c.Networking.PodSubnet)
				}
			}
		}
	}
}

func TestSeedMetricsServerPatch(t *testing.T) {
	var d appsv1.Deployment
	readStrict(t, deployPath(t, "kind", "metrics-server-patch.yaml"), &d)
	if d.Name != "metrics-server" || d.Namespace != "kube-system" || len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("patch of %s/%s", d.Namespace, d.Name)
	}
	args := d.Spec.Template.Spec.Containers[0].Args
	for _, a := range []string{"--kubelet-insecure-tls", "--kubelet-preferred-address-types=InternalIP", "--metric-resolution=15s"} {
		if !slices.Contains(args, a) {
			t.Errorf("metrics-server args %v lack the seed's %s", args, a)
		}
	}
	seen := map[string]bool{}
	for _, a := range args {
		flag, _, _ := strings.Cut(a, "=")
		if seen[flag] {
			t.Errorf("%s given twice", flag)
		}
		seen[flag] = true
	}
}
