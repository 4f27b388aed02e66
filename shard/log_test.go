package shard

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/bytedance/sonic"
)

// TestRaftLogsThroughSlog: raft's hclog calls become slog records with their key/value
// pairs as attributes; a follower being unreachable (raft's ERROR "failed to
// appendEntries to") is a WARN; a real error stays an ERROR; below the level is dropped.
func TestRaftLogsThroughSlog(t *testing.T) {
	var buf bytes.Buffer
	hl := newHCLogger("raft", slog.New(slog.NewJSONHandler(&buf, nil)), slog.LevelInfo)
	hl.Debug("dropped")
	hl.Error("failed to appendEntries to", "peer", "n2", "error", errors.New("connection refused"))
	hl.With("node", "n1").Error("failed to take snapshot", "error", errors.New("disk full"))
	hl.Named("snapshot").Info("creating new snapshot", "path", "/d/x")
	recs := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(recs) != 3 {
		t.Fatalf("want 3 records:\n%s", buf.String())
	}
	var got []map[string]any
	for _, r := range recs {
		var m map[string]any
		if err := sonic.Unmarshal([]byte(r), &m); err != nil {
			t.Fatalf("%v: %s", err, r)
		}
		got = append(got, m)
	}
	if g := got[0]; g["level"] != "WARN" || g["peer"] != "n2" || g["error"] != "connection refused" || g["component"] != "raft" {
		t.Errorf("demoted follower failure: %v", g)
	}
	if g := got[1]; g["level"] != "ERROR" || g["node"] != "n1" || g["error"] != "disk full" {
		t.Errorf("real error: %v", g)
	}
	if g := got[2]; g["level"] != "INFO" || g["subsystem"] != "raft.snapshot" || g["path"] != "/d/x" {
		t.Errorf("named: %v", g)
	}
}
