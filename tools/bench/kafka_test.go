package bench

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestBenchKafka: --fills kafka runs the Kafka phases after the latency scenario: the
// live phase measures the ingest's latency, the backlog is consumed whole (records/s),
// the RPC path's latency of the same run is beside it, and both ingest processes are
// stopped with the rest.
func TestBenchKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	cfg := DefaultConfig()
	cfg.Binary, cfg.DataDir = copytradeBinary(t), t.TempDir()
	cfg.Traders, cfg.Copiers = 2, 10
	cfg.Duration, cfg.Warmup = 3*time.Second, 500*time.Millisecond
	cfg.Scenarios = []string{ScenarioLatency}
	cfg.Fills, cfg.KafkaRecords = "kafka", 1000
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var stdout bytes.Buffer
	rep, err := Run(ctx, cfg, &stdout)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, stdout.String())
	}
	if len(rep.Pids) != 7 {
		t.Errorf("started %d processes, want 7: exchsim, 3 nodes, router, 2 ingests", len(rep.Pids))
	}
	for _, pid := range rep.Pids {
		if ProcessAlive(pid) {
			t.Errorf("process %d still alive after Run returned", pid)
		}
	}
	k := rep.Kafka
	if k == nil {
		t.Fatal("no kafka result")
	}
	if k.Records != 1000 || k.LeadFills != 100 || !(k.RecordsPerS > 0) || !(k.FilteredPerS > 0) {
		t.Errorf("throughput phase: %+v", k)
	}
	if k.Latency.Count == 0 || !(k.Latency.P99 > 0) || k.RPCLatency == nil || !(k.RPCLatency.P99 > 0) {
		t.Errorf("latency: kafka %+v rpc %+v", k.Latency, k.RPCLatency)
	}
	if !strings.Contains(stdout.String(), "fills via Kafka") {
		t.Errorf("table lacks the Kafka lines:\n%s", stdout.String())
	}
}
