package kitexlog

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/bytedance/sonic"
)

// TestKitexLinesAreSlog: Kitex's lines come out as JSON records at the mapped level
// with component=kitex and without the "KITEX: " prefix; below the handler's level
// they are dropped.
func TestKitexLinesAreSlog(t *testing.T) {
	var buf bytes.Buffer
	l := New(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	l.Infof("KITEX: server listen at addr=%s", "127.0.0.1:1")
	l.CtxWarnf(context.Background(), "KITEX: auto retry retryable error, retry=%d", 2)
	l.Debug("dropped")
	l.Fatal("fatal is an error line, not an exit")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 records, got %d:\n%s", len(lines), buf.String())
	}
	want := []struct{ level, msg string }{
		{"INFO", "server listen at addr=127.0.0.1:1"},
		{"WARN", "auto retry retryable error, retry=2"},
		{"ERROR", "fatal is an error line, not an exit"},
	}
	for i, line := range lines {
		var rec map[string]any
		if err := sonic.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %d not JSON: %v: %s", i, err, line)
		}
		if rec["level"] != want[i].level || rec["msg"] != want[i].msg || rec["component"] != "kitex" {
			t.Errorf("line %d: %v, want %+v", i, rec, want[i])
		}
	}
}

// TestUseRetargets: the logger Install gives Kitex writes to whatever Use set last.
func TestUseRetargets(t *testing.T) {
	var a, b bytes.Buffer
	proxy := &logger{}
	Use(slog.New(slog.NewTextHandler(&a, nil)))
	proxy.Info("one")
	Use(slog.New(slog.NewTextHandler(&b, nil)))
	proxy.Warnf("KITEX: %s", "two")
	if !strings.Contains(a.String(), "msg=one component=kitex") || strings.Contains(a.String(), "two") {
		t.Errorf("first target: %q", a.String())
	}
	if !strings.Contains(b.String(), "level=WARN msg=two component=kitex") {
		t.Errorf("second target: %q", b.String())
	}
}
