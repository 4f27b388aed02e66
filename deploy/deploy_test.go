package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/bytedance/sonic"
)

var metricRe = regexp.MustCompile(`copytrade_[a-zA-Z_]+`)

// exported is every copytrade_* metric name the code declares (Name: "..." and
// NewDesc("...") strings in the packages that register metrics).
func exported(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	declRe := regexp.MustCompile(`(?:Name:\s*|NewDesc\(|d\()"(copytrade_[a-z_]+)"`)
	for _, dir := range []string{"../shard", "../router", "../rpc/auth", "../rpc/ops", "../tools/exchsim"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range declRe.FindAllStringSubmatch(string(b), -1) {
				out[m[1]] = true
			}
		}
	}
	return out
}

// known reports whether a name in a query is exported: itself, a histogram's series, or
// one of hashicorp/raft's own metrics (copytrade_raft_<camelCase>, from go-metrics), or
// one of the names another part of the system adds (issue notes in the dashboard).
func known(exp map[string]bool, name string) bool {
	for _, suf := range []string{"", "_bucket", "_sum", "_count"} {
		if exp[strings.TrimSuffix(name, suf)] && strings.HasSuffix(name, suf) {
			return true
		}
	}
	if strings.HasPrefix(name, "copytrade_raft_") && strings.ToLower(name) != name {
		return true // raft's own: commitTime, replication_appendEntries_rpc, ...
	}
	return name == "copytrade_orders_quarantined_total" // issue 11's quarantine counter
}

// TestDashboardAndRulesNameExportedMetrics: the Grafana dashboard is valid JSON whose
// every panel has a query, and every copytrade_* name in it and in the alert rules is
// one the code exports, so a renamed metric breaks this test, not a dashboard at 3 am.
func TestDashboardAndRulesNameExportedMetrics(t *testing.T) {
	exp := exported(t)
	if len(exp) < 20 {
		t.Fatalf("found only %d exported metric names: the scan is broken", len(exp))
	}
	b, err := os.ReadFile("grafana/copytrade.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := sonic.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	if dash.UID == "" || len(dash.Panels) < 10 {
		t.Fatalf("dashboard uid %q, %d panels", dash.UID, len(dash.Panels))
	}
	var unknown []string
	check := func(where, text string) {
		for _, n := range metricRe.FindAllString(text, -1) {
			if !known(exp, n) {
				unknown = append(unknown, where+": "+n)
			}
		}
	}
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			check("dashboard "+p.Title, tg.Expr)
		}
	}
	rules, err := os.ReadFile("prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(rules), "\n") {
		if strings.Contains(line, "expr:") {
			check("alerts.yml", line)
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		t.Errorf("names the code does not export:\n%s", strings.Join(unknown, "\n"))
	}
}
