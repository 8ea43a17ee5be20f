package k8stest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// restrictedViolations checks a pod spec against the Pod Security
// Standards' "restricted" profile (which includes "baseline"), as Pod
// Security admission does for the namespace's enforce label
// (https://kubernetes.io/docs/concepts/security/pod-security-standards/).
func restrictedViolations(spec corev1.PodSpec, annotations map[string]string) []string {
	var v []string
	add := func(f string, a ...any) { v = append(v, fmt.Sprintf(f, a...)) }
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		add("host namespaces")
	}
	if spec.SecurityContext != nil && spec.SecurityContext.WindowsOptions != nil && spec.SecurityContext.WindowsOptions.HostProcess != nil && *spec.SecurityContext.WindowsOptions.HostProcess {
		add("hostProcess")
	}
	allowedVolumes := func(vol corev1.Volume) bool {
		s := vol.VolumeSource
		return s.ConfigMap != nil || s.CSI != nil || s.DownwardAPI != nil || s.EmptyDir != nil || s.Ephemeral != nil ||
			s.PersistentVolumeClaim != nil || s.Projected != nil || s.Secret != nil
	}
	for _, vol := range spec.Volumes {
		if !allowedVolumes(vol) {
			add("volume %s: type not allowed (hostPath and in-tree volumes are not)", vol.Name)
		}
	}
	psc := spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if psc.RunAsUser != nil && *psc.RunAsUser == 0 {
		add("pod runAsUser 0")
	}
	if psc.SeccompProfile != nil && psc.SeccompProfile.Type == corev1.SeccompProfileTypeUnconfined {
		add("pod seccomp Unconfined")
	}
	if psc.SELinuxOptions != nil && !okSELinux(psc.SELinuxOptions) {
		add("pod SELinux options")
	}
	if psc.AppArmorProfile != nil && psc.AppArmorProfile.Type == corev1.AppArmorProfileTypeUnconfined {
		add("pod AppArmor Unconfined")
	}
	for k, val := range annotations {
		if strings.HasPrefix(k, "container.apparmor.security.beta.kubernetes.io/") && val == "unconfined" {
			add("AppArmor unconfined annotation")
		}
	}
	safeSysctls := []string{"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
		"net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time",
		"net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"}
	for _, s := range psc.Sysctls {
		if !slices.Contains(safeSysctls, s.Name) {
			add("sysctl %s", s.Name)
		}
	}
	podNonRoot := psc.RunAsNonRoot != nil && *psc.RunAsNonRoot
	podSeccomp := psc.SeccompProfile != nil && (psc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault || psc.SeccompProfile.Type == corev1.SeccompProfileTypeLocalhost)
	for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
		sc := c.SecurityContext
		if sc == nil {
			sc = &corev1.SecurityContext{}
		}
		if sc.Privileged != nil && *sc.Privileged {
			add("%s: privileged", c.Name)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			add("%s: allowPrivilegeEscalation must be false", c.Name)
		}
		if !(podNonRoot && sc.RunAsNonRoot == nil) && (sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot) {
			add("%s: runAsNonRoot must be true", c.Name)
		}
		if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			add("%s: runAsUser 0", c.Name)
		}
		switch {
		case sc.SeccompProfile != nil && sc.SeccompProfile.Type == corev1.SeccompProfileTypeUnconfined:
			add("%s: seccomp Unconfined", c.Name)
		case sc.SeccompProfile == nil && !podSeccomp:
			add("%s: no RuntimeDefault or Localhost seccomp profile", c.Name)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			add("%s: capabilities must drop ALL", c.Name)
		}
		if sc.Capabilities != nil {
			for _, a := range sc.Capabilities.Add {
				if a != "NET_BIND_SERVICE" {
					add("%s: adds capability %s", c.Name, a)
				}
			}
		}
		if sc.ProcMount != nil && *sc.ProcMount != corev1.DefaultProcMount {
			add("%s: procMount", c.Name)
		}
		if sc.SELinuxOptions != nil && !okSELinux(sc.SELinuxOptions) {
			add("%s: SELinux options", c.Name)
		}
		if sc.AppArmorProfile != nil && sc.AppArmorProfile.Type == corev1.AppArmorProfileTypeUnconfined {
			add("%s: AppArmor Unconfined", c.Name)
		}
		for _, p := range c.Ports {
			if p.HostPort != 0 {
				add("%s: hostPort %d", c.Name, p.HostPort)
			}
		}
	}
	return v
}

func okSELinux(o *corev1.SELinuxOptions) bool {
	return o.User == "" && o.Role == "" && slices.Contains([]string{"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}, o.Type)
}

// Containers allowed a writable root filesystem, and why.
var writableRoot = map[string]string{
	"overlays/kind/keycloak": "Keycloak start-dev rebuilds under /opt/keycloak/lib and keeps H2 in /opt/keycloak/data (kind only)",
}

func TestRestrictedSecurityEverywhere(t *testing.T) {
	for _, k := range overlays {
		objs := render(t)[k]
		ns := find[corev1.Namespace](t, objs, "Namespace", "ginflix")
		if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
			t.Errorf("%s: namespace does not enforce the restricted Pod Security Standard", k)
		}
		for _, w := range workloads(objs) {
			spec := w.Template.Spec
			for _, v := range restrictedViolations(spec, w.Template.Annotations) {
				t.Errorf("%s: %s %s: %s", k, w.Kind, w.Name, v)
			}
			if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
				t.Errorf("%s: %s: mounts a service account token it does not use", k, w.Name)
			}
			for _, c := range spec.Containers {
				ro := c.SecurityContext != nil && c.SecurityContext.ReadOnlyRootFilesystem != nil && *c.SecurityContext.ReadOnlyRootFilesystem
				why, excepted := writableRoot[k+"/"+c.Name]
				switch {
				case !ro && !excepted:
					t.Errorf("%s: %s/%s: root filesystem not read-only", k, w.Name, c.Name)
				case ro && excepted:
					t.Errorf("%s: %s/%s: read-only now, drop its exception (%s)", k, w.Name, c.Name, why)
				}
				if c.StartupProbe == nil || c.ReadinessProbe == nil || c.LivenessProbe == nil {
					t.Errorf("%s: %s/%s: wants startup, readiness and liveness probes", k, w.Name, c.Name)
				}
				for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
					if _, ok := c.Resources.Requests[r]; !ok {
						t.Errorf("%s: %s/%s: no %s request", k, w.Name, c.Name, r)
					}
					if _, ok := c.Resources.Limits[r]; !ok {
						t.Errorf("%s: %s/%s: no %s limit", k, w.Name, c.Name, r)
					}
				}
			}
		}
	}
}

// A test of the checker: each of these pods breaks one rule.
func TestRestrictedCheckerRefuses(t *testing.T) {
	yes, no, root := true, false, int64(0)
	good := func() corev1.PodSpec {
		return corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: &yes, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{Name: "c", SecurityContext: &corev1.SecurityContext{
				AllowPrivilegeEscalation: &no, Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			}}},
		}
	}
	if v := restrictedViolations(good(), nil); len(v) > 0 {
		t.Fatalf("a restricted pod refused: %v", v)
	}
	for name, break_ := range map[string]func(*corev1.PodSpec){
		"root user":       func(s *corev1.PodSpec) { s.Containers[0].SecurityContext.RunAsUser = &root },
		"no runAsNonRoot": func(s *corev1.PodSpec) { s.SecurityContext.RunAsNonRoot = nil },
		"escalation":      func(s *corev1.PodSpec) { s.Containers[0].SecurityContext.AllowPrivilegeEscalation = nil },
		"keeps caps":      func(s *corev1.PodSpec) { s.Containers[0].SecurityContext.Capabilities.Drop = nil },
		"adds a cap": func(s *corev1.PodSpec) {
			s.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"NET_ADMIN"}
		},
		"no seccomp": func(s *corev1.PodSpec) { s.SecurityContext.SeccompProfile = nil },
		"privileged": func(s *corev1.PodSpec) { s.Containers[0].SecurityContext.Privileged = &yes },
		"hostPath": func(s *corev1.PodSpec) {
			s.Volumes = []corev1.Volume{{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
		},
		"host network": func(s *corev1.PodSpec) { s.HostNetwork = true },
		"hostPort": func(s *corev1.PodSpec) {
			s.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 80}}
		},
		"unsafe sysctl": func(s *corev1.PodSpec) {
			s.SecurityContext.Sysctls = []corev1.Sysctl{{Name: "kernel.msgmax", Value: "1"}}
		},
		"init container": func(s *corev1.PodSpec) { s.InitContainers = []corev1.Container{{Name: "i"}} },
	} {
		s := good()
		break_(&s)
		if len(restrictedViolations(s, nil)) == 0 {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Termination: Kubernetes kills a pod terminationGracePeriodSeconds after
// SIGTERM, preStop included. Ginflix's own drain (GINFLIX_SHUTDOWN_TIMEOUT)
// must fit, with room for the backend's workers to give their jobs back.
func TestGracefulTermination(t *testing.T) {
	for _, k := range overlays {
		for _, w := range workloads(render(t)[k]) {
			spec := w.Template.Spec
			grace := time.Duration(30) * time.Second
			if spec.TerminationGracePeriodSeconds != nil {
				grace = time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
			}
			for _, c := range spec.Containers {
				var preStop time.Duration
				if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
					preStop = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
				}
				for _, e := range c.Env {
					if e.Name != "GINFLIX_SHUTDOWN_TIMEOUT" {
						continue
					}
					d, err := time.ParseDuration(e.Value)
					if err != nil {
						t.Fatalf("%s: %s: %v", k, w.Name, err)
					}
					if preStop+d+10*time.Second > grace {
						t.Errorf("%s: %s: preStop %v + shutdown %v + 10 s > grace period %v", k, w.Name, preStop, d, grace)
					}
				}
				if strings.HasPrefix(c.Image, "registry.gin-telecom.ovh/ginflix/backend") || c.Image == "ginflix/backend:dev" {
					// An 8 MiB tus chunk at 1 Mbit/s: 67 s.
					if !hasEnv(c, "GINFLIX_SHUTDOWN_TIMEOUT") || grace < 75*time.Second {
						t.Errorf("%s: backend: grace %v is too short for an upload chunk to finish", k, grace)
					}
				}
				if strings.Contains(c.Image, "frontend") && (c.Lifecycle == nil || c.Lifecycle.PreStop == nil) {
					t.Errorf("%s: %s: nginx needs a preStop that quits gracefully (Kubernetes sends SIGTERM: a fast stop)", k, w.Name)
				}
			}
		}
	}
}

func hasEnv(c corev1.Container, name string) bool {
	for _, e := range c.Env {
		if e.Name == name {
			return true
		}
	}
	return false
}
