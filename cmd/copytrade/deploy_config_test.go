package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/copytrade/copytrade/rpc/tlsconf"
	"github.com/copytrade/copytrade/rpc/tlsconf/tlstest"

	"github.com/copytrade/copytrade/rpc/auth"
)

// TestDeployConfigsAreValid: the config files shipped under deploy/ (systemd examples
// and the Kubernetes ConfigMaps) pass `config check` / `--check`, with only the key and
// topology paths pointed at temporary files.
func TestDeployConfigsAreValid(t *testing.T) {
	dir := t.TempDir()
	key, _ := auth.GenerateKey("k1")
	keyFile := filepath.Join(dir, "keys.json")
	if err := auth.WriteKeyFile(keyFile, key); err != nil {
		t.Fatal(err)
	}
	read := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("..", "..", "deploy", p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	k8s := read("kubernetes/copytrade.yaml")
	topo := filepath.Join(dir, "topology.json")
	if err := os.WriteFile(topo, []byte(configMapEntry(t, k8s, "topology.json")), 0o600); err != nil {
		t.Fatal(err)
	}
	// The configs serve off loopback, so they name TLS files: give them real ones.
	ca := tlstest.MustCA("deploy-test")
	nodeTLS, err := ca.WriteFiles(dir, "node", tlsconf.NodeIdentity(1, "n1"))
	if err != nil {
		t.Fatal(err)
	}
	podTLS, err := ca.WriteFiles(dir, "pod", tlsconf.NodeIdentity(1, "copytrade-g1-0"))
	if err != nil {
		t.Fatal(err)
	}
	routerTLS, err := ca.WriteFiles(dir, "router", tlsconf.RoleIdentity("router", "r1"))
	if err != nil {
		t.Fatal(err)
	}
	fix := func(s string) string {
		for _, p := range []string{"/etc/copytrade/keys/keys.json", "/etc/copytrade/keys.json"} {
			s = strings.ReplaceAll(s, p, keyFile)
		}
		s = strings.NewReplacer("/etc/copytrade/tls/ca.pem", nodeTLS.CA,
			"/etc/copytrade/tls/node.pem", nodeTLS.Cert, "/etc/copytrade/tls/node-key.pem", nodeTLS.Key,
			"/etc/copytrade/tls/router.pem", routerTLS.Cert, "/etc/copytrade/tls/router-key.pem", routerTLS.Key,
			"/etc/copytrade/tls/tls.crt", podTLS.Cert, "/etc/copytrade/tls/tls.key", podTLS.Key).Replace(s)
		return strings.ReplaceAll(s, "/etc/copytrade/topology.json", topo)
	}
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(fix(body)), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, name := range []string{"systemd/n1.toml", "systemd/router.toml"} {
		var out, errOut bytes.Buffer
		if code := runConfig(context.Background(), []string{"check", write(filepath.Base(name), read(name))}, &out, &errOut); code != 0 {
			t.Errorf("%s: exit %d: %s", name, code, errOut.String())
		}
	}
	var errOut bytes.Buffer
	node := write("k8s-node.toml", configMapEntry(t, k8s, "node.toml"))
	if code := runNode(context.Background(), []string{"--config", node, "--id", "copytrade-g1-0", "--data", filepath.Join(dir, "d"),
		"--raft-advertise", "copytrade-g1-0.copytrade-g1.copytrade.svc:7001", "--check"}, &bytes.Buffer{}, &errOut); code != 0 {
		t.Errorf("kubernetes node.toml: exit %d: %s", code, errOut.String())
	}
	errOut.Reset()
	router := write("k8s-router.toml", strings.NewReplacer("/etc/copytrade/tls/tls.crt", "/etc/copytrade/tls/router.pem",
		"/etc/copytrade/tls/tls.key", "/etc/copytrade/tls/router-key.pem").Replace(configMapEntry(t, k8s, "router.toml")))
	if code := runRouter(context.Background(), []string{"--config", router, "--check"}, &bytes.Buffer{}, &errOut); code != 0 {
		t.Errorf("kubernetes router.toml: exit %d: %s", code, errOut.String())
	}
}

// configMapEntry is the literal block `name: |` of a ConfigMap in a manifest, unindented.
func configMapEntry(t *testing.T, manifest, name string) string {
	t.Helper()
	lines := strings.Split(manifest, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != name+": |" {
			continue
		}
		indent := len(l) - len(strings.TrimLeft(l, " ")) + 2
		var b strings.Builder
		for _, body := range lines[i+1:] {
			if strings.TrimSpace(body) != "" && len(body)-len(strings.TrimLeft(body, " ")) < indent {
				break
			}
			b.WriteString(strings.TrimPrefix(body, strings.Repeat(" ", indent)) + "\n")
		}
		return b.String()
	}
	t.Fatalf("no ConfigMap entry %s", name)
	return ""
}
