package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bytedance/sonic"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/copytrade/copytrade/ingest"
	"github.com/copytrade/copytrade/rpc/auth"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/tlsconf"
	"github.com/copytrade/copytrade/tools/exchsim"
	"github.com/copytrade/copytrade/tools/testcluster"
)

// TestIngestOverMutualTLS: `copytrade ingest` with a trading-system certificate (and no
// key file) reaches a group that serves only mutual TLS: a lead fill consumed from
// Kafka is forwarded and copied. A certificate naming another role is refused at
// start (exit 2, naming the role it needs).
func TestIngestOverMutualTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	c := testcluster.New(t, testcluster.Options{Groups: 1, TLS: true, Mode: exchsim.Strict})
	trader := testcluster.TraderIn(1, 1, 1, 1000)[0]
	const copiers = 3
	c.Seed([]int64{trader}, copiers, 500_000)

	dir := t.TempDir()
	topo := filepath.Join(dir, "topology.json")
	b, err := sonic.Marshal(c.Topo)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(topo, b, 0o600); err != nil {
		t.Fatal(err)
	}
	files, err := c.CA.WriteFiles(dir, "ingest", tlsconf.RoleIdentity(string(auth.RoleTradingSystem), "ingest-1"))
	if err != nil {
		t.Fatal(err)
	}
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "fills", "copytrade.fills.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	brokers := strings.Join(kc.ListenAddrs(), ",")

	wrong, err := c.CA.WriteFiles(dir, "admin", tlsconf.RoleIdentity(string(auth.RoleAdmin), "ops"))
	if err != nil {
		t.Fatal(err)
	}
	var so, se bytes.Buffer
	if code := run(context.Background(), []string{"ingest", "--brokers", brokers, "--topology", topo,
		"--tls-ca", wrong.CA, "--tls-cert", wrong.Cert, "--tls-key", wrong.Key}, &so, &se); code != 2 ||
		!strings.Contains(se.String(), "trading-system") {
		t.Fatalf("an admin certificate without --keys: exit %d, stderr %q; want 2 naming the trading-system role", code, se.String())
	}

	fill := &ct.Fill{Trader: trader, TradeId: 1, Instrument: "BTCUSDT", Side: ct.Side_BUY,
		PositionSide: ct.PositionSide_LONG, Qty: "0.01", Price: "60000", Leverage: 10,
		MarginMode: ct.MarginMode_CROSS, Equity: "100000", PositionAfter: "0.01", EventTimeNs: time.Now().UnixNano()}
	val, err := ingest.Encode(ingest.FormatJSON, fill)
	if err != nil {
		t.Fatal(err)
	}
	prod, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	if err := prod.ProduceSync(context.Background(), &kgo.Record{Topic: "fills",
		Key: []byte(strconv.FormatInt(trader, 10)), Value: val}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut lockedBuffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"ingest", "--brokers", brokers, "--topics", "fills", "--topology", topo,
			"--tls-ca", files.CA, "--tls-cert", files.Cert, "--tls-key", files.Key}, &out, &errOut)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for c.Sim.Stats().OrdersFilled < copiers {
		if time.Now().After(deadline) {
			t.Fatalf("the fill was not copied over mutual TLS: venue %+v\nstderr: %s", c.Sim.Stats(), errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if got := <-code; got != 0 {
		t.Fatalf("ingest exit %d: %s", got, errOut.String())
	}
	if !strings.Contains(out.String(), "forwarded=1") {
		t.Fatalf("ingest summary lacks forwarded=1: %q", out.String())
	}
}

// lockedBuffer is a bytes.Buffer safe for a writer goroutine and a reading test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
