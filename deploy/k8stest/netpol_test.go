package k8stest

import (
	"fmt"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Endpoint is one end of a flow: a pod, or an address outside the
// cluster's pod network (a client, a node after SNAT, an internet host).
type Endpoint struct {
	Name      string
	Pod       bool
	Namespace string
	Labels    map[string]string
	IP        netip.Addr
	Ports     []corev1.ContainerPort
}

// Cluster evaluates NetworkPolicies the way the API defines them
// (https://kubernetes.io/docs/concepts/services-networking/network-policies/):
// a pod selected by no policy of a direction is open in that direction;
// once selected, a flow must match a rule of one of the selecting
// policies; a flow between two pods needs the source's egress and the
// destination's ingress. Traffic from a pod's own node (kubelet probes)
// is always allowed and is not modelled.
type Cluster struct {
	Policies   []*networkingv1.NetworkPolicy
	Namespaces map[string]map[string]string // name -> labels
	// IPBlockMatchesPods: implementations differ on whether an ipBlock
	// matches pod addresses (the API says ipBlocks are meant for
	// cluster-external addresses; Calico matches pods too). The tests ask
	// for "allowed" without it and "denied" with it, so a verdict holds on
	// either kind of implementation.
	IPBlockMatchesPods bool
}

func policyTypes(p *networkingv1.NetworkPolicy) []networkingv1.PolicyType {
	if len(p.Spec.PolicyTypes) > 0 {
		return p.Spec.PolicyTypes
	}
	// The API server's default.
	types := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	if len(p.Spec.Egress) > 0 {
		types = append(types, networkingv1.PolicyTypeEgress)
	}
	return types
}

func selects(p *networkingv1.NetworkPolicy, e Endpoint) bool {
	if !e.Pod || p.Namespace != e.Namespace {
		return false
	}
	return matchSelector(&p.Spec.PodSelector, e.Labels)
}

func matchSelector(s *metav1.LabelSelector, l map[string]string) bool {
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		panic(err)
	}
	return sel.Matches(labelSet(l))
}

// Allowed reports whether src may open a connection to dst:port/proto.
func (c Cluster) Allowed(src, dst Endpoint, port int32, proto corev1.Protocol) bool {
	return c.direction(networkingv1.PolicyTypeEgress, src, dst, port, proto) &&
		c.direction(networkingv1.PolicyTypeIngress, dst, src, port, proto)
}

// direction: may subject (the selected pod) talk to peer, in dir. The
// port is always the destination's.
func (c Cluster) direction(dir networkingv1.PolicyType, subject, peer Endpoint, port int32, proto corev1.Protocol) bool {
	if !subject.Pod {
		return true // outside the cluster: no policy applies
	}
	dst := subject
	if dir == networkingv1.PolicyTypeEgress {
		dst = peer
	}
	isolated := false
	for _, p := range c.Policies {
		if !selects(p, subject) || !containsType(policyTypes(p), dir) {
			continue
		}
		isolated = true
		if dir == networkingv1.PolicyTypeIngress {
			for _, r := range p.Spec.Ingress {
				if c.peersMatch(p.Namespace, r.From, peer) && portsMatch(r.Ports, dst, port, proto) {
					return true
				}
			}
		} else {
			for _, r := range p.Spec.Egress {
				if c.peersMatch(p.Namespace, r.To, peer) && portsMatch(r.Ports, dst, port, proto) {
					return true
				}
			}
		}
	}
	return !isolated
}

func containsType(ts []networkingv1.PolicyType, t networkingv1.PolicyType) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// peersMatch: an empty list matches everyone; otherwise any one peer.
func (c Cluster) peersMatch(policyNS string, peers []networkingv1.NetworkPolicyPeer, e Endpoint) bool {
	if len(peers) == 0 {
		return true
	}
	for _, p := range peers {
		if c.peerMatches(policyNS, p, e) {
			return true
		}
	}
	return false
}

func (c Cluster) peerMatches(policyNS string, p networkingv1.NetworkPolicyPeer, e Endpoint) bool {
	if p.IPBlock != nil {
		if e.Pod && !c.IPBlockMatchesPods {
			return false
		}
		if !netip.MustParsePrefix(p.IPBlock.CIDR).Contains(e.IP) {
			return false
		}
		for _, ex := range p.IPBlock.Except {
			if netip.MustParsePrefix(ex).Contains(e.IP) {
				return false
			}
		}
		return true
	}
	if !e.Pod {
		return false // pod and namespace selectors select pods only
	}
	if p.NamespaceSelector == nil {
		if e.Namespace != policyNS {
			return false
		}
	} else if !matchSelector(p.NamespaceSelector, c.Namespaces[e.Namespace]) {
		return false
	}
	if p.PodSelector != nil && !matchSelector(p.PodSelector, e.Labels) {
		return false
	}
	return true
}

// portsMatch: an empty list matches every port; a named port is looked up
// on the destination pod.
func portsMatch(ports []networkingv1.NetworkPolicyPort, dst Endpoint, port int32, proto corev1.Protocol) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		pp := corev1.ProtocolTCP
		if p.Protocol != nil {
			pp = *p.Protocol
		}
		if pp != proto {
			continue
		}
		switch {
		case p.Port == nil:
			return true
		case p.Port.Type == intstr.Int:
			lo, hi := p.Port.IntVal, p.Port.IntVal
			if p.EndPort != nil {
				hi = *p.EndPort
			}
			if port >= lo && port <= hi {
				return true
			}
		default:
			for _, cp := range dst.Ports {
				cpp := cp.Protocol
				if cpp == "" {
					cpp = corev1.ProtocolTCP
				}
				if dst.Pod && cp.Name == p.Port.StrVal && cp.ContainerPort == port && cpp == proto {
					return true
				}
			}
		}
	}
	return false
}

// The evaluator on the API's documented cases.
func TestNetworkPolicyEvaluator(t *testing.T) {
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	web := Endpoint{Name: "web", Pod: true, Namespace: "a", Labels: map[string]string{"app": "web"}, IP: netip.MustParseAddr("10.0.0.1"),
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}
	cli := Endpoint{Name: "cli", Pod: true, Namespace: "a", Labels: map[string]string{"app": "cli"}, IP: netip.MustParseAddr("10.0.0.2")}
	far := Endpoint{Name: "far", Pod: true, Namespace: "b", Labels: map[string]string{"app": "cli"}, IP: netip.MustParseAddr("10.0.1.2")}
	out := Endpoint{Name: "out", IP: netip.MustParseAddr("192.0.2.7")}
	nss := map[string]map[string]string{"a": {"kubernetes.io/metadata.name": "a"}, "b": {"kubernetes.io/metadata.name": "b", "team": "x"}}
	np := func(ns string, spec networkingv1.NetworkPolicySpec) *networkingv1.NetworkPolicy {
		return &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: ns}, Spec: spec}
	}
	appWeb := metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	cliSel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "cli"}}
	teamX := &metav1.LabelSelector{MatchLabels: map[string]string{"team": "x"}}
	port := func(p intstr.IntOrString) []networkingv1.NetworkPolicyPort {
		return []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &p}}
	}
	type flow struct {
		src, dst Endpoint
		port     int32
		proto    corev1.Protocol
		want     bool
	}
	for _, c := range []struct {
		name     string
		policies []*networkingv1.NetworkPolicy
		flows    []flow
	}{
		{"no policy: open", nil, []flow{{cli, web, 8080, tcp, true}, {out, web, 1, udp, true}}},
		{"default deny ingress (no policyTypes, no rules)", []*networkingv1.NetworkPolicy{np("a", networkingv1.NetworkPolicySpec{})},
			[]flow{{cli, web, 8080, tcp, false}, {web, out, 443, tcp, true}}},
		{"egress-only policy leaves ingress open", []*networkingv1.NetworkPolicy{np("a", networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Egress"}})},
			[]flow{{cli, web, 8080, tcp, false}, {out, web, 8080, tcp, true}}},
		{"egress rules imply Egress when policyTypes is empty", []*networkingv1.NetworkPolicy{np("a", networkingv1.NetworkPolicySpec{
			PodSelector: *cliSel, Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{PodSelector: &appWeb}}}}})},
			[]flow{{cli, web, 8080, tcp, true}, {cli, out, 443, tcp, false}, {out, cli, 22, tcp, false}}},
		{"an empty rule allows everyone", []*networkingv1.NetworkPolicy{np("a", networkingv1.NetworkPolicySpec{
			PodSelector: appWeb, Ingress: []networkingv1.NetworkPolicyIngressRule{{}}})},
			[]flow{{cli, web, 1, udp, true}, {out, web, 8080, tcp, true}}},
		{"podSelector alone: the policy's namespace", []*networkingv1.NetworkPolicy{np("a", networkingv1.NetworkPolicySpec{
			PodSelector: appWeb, Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: cliSel}}}}})},
			[]flow{{cli, web, 8080, tcp, true}, {far, web, 8080, tcp, false}}},
		{"namespace AND pod selector in one peer", []*networkingv1.NetworkPolicy{np("a", networkingv1.NetworkPolicySpec{
			PodSelector: appWeb, Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: teamX, PodSelector: cliSel}}}}})},
			[]flow{{far, web, 8080, tcp, true}, {cli, web, 8080, tcp, false}}},
		{"namespace OR pod selector in two peers", []*networkingv1.NetworkPolicy{np("a", networkingv1.NetworkPolicySpec{
			PodSelector: appWeb, Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: teamX}, {PodSelector: cliSel}}}}})},
			[]flow{{far, web, 8080, tcp, true}, {cli, web, 8080, tcp, true}, {web, web, 8080, tcp, false}}},
		{"ipBlock with except", []*networkingv1.NetworkPolicy{np("a", networkingv1.NetworkPolicySpec{
			PodSelector: appWeb, Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "192.0.2.0/24", Except: []string{"192.0.2.7/32"}}}}}}})},
			[]flow{{out, web, 8080, tcp, false}, {Endpoint{IP: netip.MustParseAddr("192.0.2.8")}, web, 8080, tcp, true}}},
		{"named port, protocol, endPort", []*networkingv1.NetworkPolicy{np("a", networkingv1.NetworkPolicySpec{
			PodSelector: appWeb, Ingress: []networkingv1.NetworkPolicyIngressRule{{Ports: append(port(intstr.FromString("http")),
				networkingv1.NetworkPolicyPort{Protocol: &udp, Port: ptr(intstr.FromInt32(5000)), EndPort: ptr(int32(5010))})}}})},
			[]flow{{cli, web, 8080, tcp, true}, {cli, web, 8081, tcp, false}, {cli, web, 8080, udp, false}, {cli, web, 5005, udp, true}, {cli, web, 5011, udp, false}}},
		{"a policy selects pods of its own namespace only", []*networkingv1.NetworkPolicy{np("b", networkingv1.NetworkPolicySpec{})},
			[]flow{{cli, web, 8080, tcp, true}, {cli, far, 8080, tcp, false}}},
		{"policies add up", []*networkingv1.NetworkPolicy{
			np("a", networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Ingress"}}),
			np("a", networkingv1.NetworkPolicySpec{PodSelector: appWeb, Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: cliSel}}}}})},
			[]flow{{cli, web, 8080, tcp, true}, {web, cli, 8080, tcp, false}}},
	} {
		cl := Cluster{Policies: c.policies, Namespaces: nss}
		for _, f := range c.flows {
			if got := cl.Allowed(f.src, f.dst, f.port, f.proto); got != f.want {
				t.Errorf("%s: %s -> %s:%d/%s: allowed=%v, want %v", c.name, f.src.Name, f.dst.Name, f.port, f.proto, got, f.want)
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }

// clusterOf places the overlay's pods (labels and ports as rendered) next
// to the pods and hosts the seed's flows involve.
func clusterOf(t *testing.T, overlay string) (map[string]Endpoint, []*networkingv1.NetworkPolicy) {
	objs := render(t)[overlay]
	eps := map[string]Endpoint{}
	n := 10
	for _, w := range workloads(objs) {
		var ports []corev1.ContainerPort
		for _, c := range w.Template.Spec.Containers {
			ports = append(ports, c.Ports...)
		}
		n++
		eps[w.Name] = Endpoint{Name: w.Name, Pod: true, Namespace: "ginflix", Labels: w.Template.Labels,
			IP: netip.MustParseAddr(fmt.Sprintf("10.244.1.%d", n)), Ports: ports}
	}
	for _, e := range []Endpoint{
		{Name: "intruder", Pod: true, Namespace: "ginflix", Labels: map[string]string{"app": "intruder"}, IP: netip.MustParseAddr("10.244.2.66")},
		{Name: "pod-in-default", Pod: true, Namespace: "default", Labels: map[string]string{"app": "backend"}, IP: netip.MustParseAddr("10.244.2.67")},
		{Name: "prometheus", Pod: true, Namespace: "monitoring", Labels: map[string]string{"app.kubernetes.io/name": "prometheus"}, IP: netip.MustParseAddr("10.244.2.9")},
		{Name: "coredns", Pod: true, Namespace: "kube-system", Labels: map[string]string{"k8s-app": "kube-dns"}, IP: netip.MustParseAddr("10.244.0.3"),
			Ports: []corev1.ContainerPort{{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP}, {Name: "dns-tcp", ContainerPort: 53}}},
		// The host running the TLS proxy, or a browser, on kind's Docker network.
		{Name: "client", IP: netip.MustParseAddr("172.18.0.1")},
		// A node, as kube-proxy's masquerade shows LoadBalancer traffic.
		{Name: "node", IP: netip.MustParseAddr("172.18.0.3")},
		// Keycloak's LoadBalancer address (the kind issuer URL).
		{Name: "keycloak-lb", IP: netip.MustParseAddr("172.18.255.205")},
		// s3.gin-telecom.ovh, Keycloak: public hosts.
		{Name: "internet", IP: netip.MustParseAddr("203.0.113.10")},
		{Name: "private-host", IP: netip.MustParseAddr("192.168.1.10")},
		{Name: "metadata", IP: netip.MustParseAddr("169.254.169.254")},
	} {
		eps[e.Name] = e
	}
	return eps, all[networkingv1.NetworkPolicy](objs, "NetworkPolicy")
}

type seedFlow struct {
	from, to string
	port     int32
	proto    corev1.Protocol
	allowed  bool
}

func checkFlows(t *testing.T, overlay string, flows []seedFlow) {
	eps, pols := clusterOf(t, overlay)
	nss := map[string]map[string]string{}
	for _, ns := range []string{"ginflix", "default", "monitoring", "kube-system"} {
		nss[ns] = map[string]string{"kubernetes.io/metadata.name": ns}
	}
	strict := Cluster{Policies: pols, Namespaces: nss}
	loose := Cluster{Policies: pols, Namespaces: nss, IPBlockMatchesPods: true}
	for _, f := range flows {
		src, ok1 := eps[f.from]
		dst, ok2 := eps[f.to]
		if !ok1 || !ok2 {
			t.Fatalf("%s: no endpoint %s or %s", overlay, f.from, f.to)
		}
		proto := f.proto
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		if f.allowed && !strict.Allowed(src, dst, f.port, proto) {
			t.Errorf("%s: %s -> %s:%d/%s is denied, the seed needs it", overlay, f.from, f.to, f.port, proto)
		}
		if !f.allowed && loose.Allowed(src, dst, f.port, proto) {
			t.Errorf("%s: %s -> %s:%d/%s is allowed, the seed forbids it", overlay, f.from, f.to, f.port, proto)
		}
	}
}

// Flows both overlays share: the seed's diagram and rules.
var commonFlows = []seedFlow{
	// Clients and the TLS proxy reach the four LoadBalancer Services.
	{"client", "frontend", 8080, "", true},
	{"client", "frontend-admin", 8080, "", true},
	{"client", "backend", 8080, "", true},
	{"client", "streamer", 8080, "", true},
	{"node", "backend", 8080, "", true},
	{"client", "mongodb", 27017, "", false},
	{"client", "backend", 22, "", false},
	// The front ends proxy to the backend and the streamer.
	{"frontend", "backend", 8080, "", true},
	{"frontend", "streamer", 8080, "", true},
	{"frontend-admin", "backend", 8080, "", true},
	{"frontend-admin", "streamer", 8080, "", true},
	// MongoDB: from the backend only, on 27017 only.
	{"backend", "mongodb", 27017, "", true},
	{"backend", "mongodb", 28017, "", false},
	{"frontend", "mongodb", 27017, "", false},
	{"frontend-admin", "mongodb", 27017, "", false},
	{"streamer", "mongodb", 27017, "", false},
	{"intruder", "mongodb", 27017, "", false},
	{"pod-in-default", "mongodb", 27017, "", false},
	{"prometheus", "mongodb", 27017, "", false},
	// Nothing else talks to the backend or the streamer from inside.
	{"streamer", "backend", 8080, "", false},
	{"mongodb", "backend", 8080, "", false},
	{"intruder", "backend", 8080, "", false},
	{"pod-in-default", "backend", 8080, "", false},
	{"backend", "streamer", 8080, "", false},
	{"backend", "frontend", 8080, "", false},
	{"streamer", "frontend", 8080, "", false},
	{"frontend", "frontend-admin", 8080, "", false},
	{"backend", "intruder", 8080, "", false},
	// Prometheus scrapes the two Go roles.
	{"prometheus", "backend", 8080, "", true},
	{"prometheus", "streamer", 8080, "", true},
	{"prometheus", "frontend", 8080, "", false},
	// MongoDB and the front ends talk to no one outside.
	{"mongodb", "internet", 443, "", false},
	{"frontend", "internet", 443, "", false},
	{"frontend-admin", "internet", 443, "", false},
	// DNS for everyone, and nothing else to kube-system.
	{"frontend", "coredns", 53, corev1.ProtocolUDP, true},
	{"frontend-admin", "coredns", 53, corev1.ProtocolUDP, true},
	{"backend", "coredns", 53, corev1.ProtocolUDP, true},
	{"backend", "coredns", 53, corev1.ProtocolTCP, true},
	{"streamer", "coredns", 53, corev1.ProtocolUDP, true},
	{"mongodb", "coredns", 53, corev1.ProtocolUDP, true},
	{"backend", "coredns", 9153, "", false},
}

func TestNetworkPolicyMatrixKind(t *testing.T) {
	checkFlows(t, "overlays/kind", append(commonFlows, []seedFlow{
		// The in-cluster S3 and Keycloak stand for the external services.
		{"backend", "s3", 7070, "", true},
		{"streamer", "s3", 7070, "", true},
		{"backend", "keycloak", 8080, "", true},
		{"backend", "keycloak-lb", 8080, "", true},
		{"client", "keycloak", 8080, "", true},
		{"client", "keycloak", 9000, "", false},
		{"client", "s3", 7070, "", false},
		{"frontend", "s3", 7070, "", false},
		{"frontend", "keycloak", 8080, "", false},
		{"streamer", "keycloak", 8080, "", false},
		{"mongodb", "s3", 7070, "", false},
		{"s3", "backend", 8080, "", false},
		{"s3", "mongodb", 27017, "", false},
		{"keycloak", "backend", 8080, "", false},
		{"keycloak", "mongodb", 27017, "", false},
		{"s3", "coredns", 53, corev1.ProtocolUDP, true},
		{"keycloak", "coredns", 53, corev1.ProtocolUDP, true},
		// No way out of the kind cluster for the Go roles.
		{"backend", "internet", 443, "", false},
		{"streamer", "internet", 443, "", false},
	}...))
}

func TestNetworkPolicyMatrixProduction(t *testing.T) {
	checkFlows(t, "overlays/production", append(commonFlows, []seedFlow{
		// Garage S3 and Keycloak: HTTPS to public addresses.
		{"backend", "internet", 443, "", true},
		{"streamer", "internet", 443, "", true},
		{"backend", "internet", 80, "", false},
		{"streamer", "internet", 22, "", false},
		{"backend", "private-host", 443, "", false},
		{"backend", "metadata", 80, "", false},
		{"streamer", "metadata", 443, "", false},
		{"backend", "node", 10250, "", false},
		// HTTPS "outside" is not a way around the pod rules.
		{"streamer", "mongodb", 27017, "", false},
		{"streamer", "backend", 8080, "", false},
	}...))
}
