package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIngestUsage: `copytrade ingest` refuses what it cannot run with a usage error
// (exit 2) naming the problem, before it touches Kafka or a group.
func TestIngestUsage(t *testing.T) {
	topo := filepath.Join(t.TempDir(), "topology.json")
	if err := os.WriteFile(topo, []byte(`{"groups":[{"id":1,"members":[{"id":"n1","raft_addr":"127.0.0.1:1","rpc_addr":"127.0.0.1:2"}]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--insecure"}, "-topology is required"},
		{[]string{"--topology", topo, "--insecure", "--format", "avro"}, "format must be json or thrift"},
		{[]string{"--topology", topo, "--insecure", "--wait", "never"}, "-wait must be commit or acked"},
		{[]string{"--topology", topo}, "-keys is required"},
		{[]string{"--topology", topo, "--insecure", "--max-batch", "5000"}, "MaxBatch must be in 1..1000"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"ingest"}, c.args...), &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("ingest %v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr.String(), c.want)
		}
	}
}
