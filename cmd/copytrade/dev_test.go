package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	summaryRe = regexp.MustCompile(`^dev: signals=(\d+) copier_orders=(\d+) placed=(\d+) rejected=(\d+) skipped=(\d+) p50_ms=(\d+\.\d+) p99_ms=(\d+\.\d+)( ingest: records=(\d+) filtered=(\d+) forwarded=(\d+) lag_max=(\d+))?$`)
	replayRe  = regexp.MustCompile(`fills: submitted=\d+ applied=\d+ replayed=(\d+) `)
	ordersRe  = regexp.MustCompile(`copier orders: (\d+) decisions = (\d+) placed \+ (\d+) rejected \+ (\d+) skipped \+ (\d+) pending`)
)

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDevSmoke runs `copytrade dev --duration 5s --exit-after` in-process on a small
// population and checks the summary: it ends the output, some orders were placed, and
// every copy decision is accounted for:
//
//	copier_orders == placed + rejected + skipped + pending, with pending == 0
//
// (copier_orders counts orders planned plus follows skipped; pending is printed on the
// "copier orders:" line above the summary).
//
// With --fills kafka (the default) the summary also carries the ingest's totals: every
// venue fill consumed, the copiers' own fills filtered, the lead fills forwarded, no lag.
func TestDevSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole cluster")
	}
	for _, fills := range []string{"kafka", "rpc"} {
		t.Run(fills, func(t *testing.T) { devSmoke(t, fills) })
	}
}

func devSmoke(t *testing.T, fills string) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	args := []string{"dev", "--duration", "5s", "--exit-after", "--traders", "4", "--copiers", "50",
		"--rate", "10", "--data", t.TempDir(), "--fills", fills}
	start := time.Now()
	code := run(ctx, args, &stdout, &stderr)
	t.Logf("copytrade dev took %s", time.Since(start).Round(time.Millisecond))
	out := stdout.String()
	if code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr.String())
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	last := lines[len(lines)-1]
	m := summaryRe.FindStringSubmatch(last)
	if m == nil {
		t.Fatalf("last line is not the summary: %q\nstdout:\n%s", last, out)
	}
	signals, orders, placed, rejected, skipped := atoi(t, m[1]), atoi(t, m[2]), atoi(t, m[3]), atoi(t, m[4]), atoi(t, m[5])
	if signals == 0 || placed == 0 {
		t.Fatalf("signals=%d placed=%d: want both > 0\n%s", signals, placed, out)
	}
	d := ordersRe.FindStringSubmatch(out)
	if d == nil {
		t.Fatalf("no copier-orders line:\n%s", out)
	}
	if atoi(t, d[1]) != orders || atoi(t, d[2]) != placed || atoi(t, d[3]) != rejected || atoi(t, d[4]) != skipped {
		t.Fatalf("the detail line %q disagrees with the summary %q", d[0], last)
	}
	pending := atoi(t, d[5])
	if pending != 0 {
		t.Errorf("pending=%d: every order should be answered before the router replies", pending)
	}
	if orders != placed+rejected+skipped+pending {
		t.Errorf("copier_orders=%d != placed %d + rejected %d + skipped %d + pending %d", orders, placed, rejected, skipped, pending)
	}
	switch ingest := m[8] != ""; {
	case fills == "kafka" && !ingest:
		t.Fatalf("no ingest totals in the summary %q", last)
	case fills == "rpc" && ingest:
		t.Fatalf("ingest totals in an rpc run's summary %q", last)
	case ingest:
		records, filtered, forwarded, lag := atoi(t, m[9]), atoi(t, m[10]), atoi(t, m[11]), atoi(t, m[12])
		// A fill resent after a transient answer (its first attempt applied it) is
		// forwarded again and answered DUPLICATE_FILL: replayed, not lost.
		var replayed int64
		if r := replayRe.FindStringSubmatch(out); r != nil {
			replayed = atoi(t, r[1])
		}
		if forwarded != signals+replayed || filtered == 0 || records < forwarded+filtered || lag != 0 {
			t.Errorf("ingest records=%d filtered=%d forwarded=%d lag_max=%d: want every lead fill (%d applied + %d replayed) forwarded, copier fills filtered, no lag",
				records, filtered, forwarded, lag, signals, replayed)
		}
	}
	if !strings.Contains(out, "refused=0 failed_calls=0 lost=0") {
		t.Errorf("some fills were not copied:\n%s", out)
	}
}
