package shard

import (
	"bytes"
	"context"
	"io"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// newHCLogger adapts hashicorp/raft's hclog output to slog: each line hclog writes is
// logged at its level with component=name; lines below level are dropped by hclog.
func newHCLogger(name string, log *slog.Logger, level slog.Level) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:            name,
		Level:           hcLevel(level),
		Output:          &slogWriter{log: log.With("component", name)},
		DisableTime:     true,
		IncludeLocation: false,
	})
}

func hcLevel(l slog.Level) hclog.Level {
	switch {
	case l <= slog.LevelDebug:
		return hclog.Debug
	case l <= slog.LevelInfo:
		return hclog.Info
	case l <= slog.LevelWarn:
		return hclog.Warn
	}
	return hclog.Error
}

type slogWriter struct{ log *slog.Logger }

var _ io.Writer = (*slogWriter)(nil)

func (w *slogWriter) Write(p []byte) (int, error) {
	line := bytes.TrimSpace(p)
	level := slog.LevelInfo
	for _, t := range []struct {
		tag string
		l   slog.Level
	}{{"[ERROR]", slog.LevelError}, {"[WARN]", slog.LevelWarn}, {"[INFO]", slog.LevelInfo}, {"[DEBUG]", slog.LevelDebug}, {"[TRACE]", slog.LevelDebug}} {
		if i := bytes.Index(line, []byte(t.tag)); i >= 0 {
			level = t.l
			line = bytes.TrimSpace(line[i+len(t.tag):])
			break
		}
	}
	w.log.Log(context.Background(), level, string(line))
	return len(p), nil
}
