package shard

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// newHCLogger adapts hashicorp/raft's hclog calls to slog: each call is one slog record
// at its level, with component=name and raft's key/value pairs as attributes (not
// flattened into the message). Calls below level are dropped. Events that are normal in
// a running group — a follower restarting, so appends and heartbeats to it fail for a
// while — are logged at WARN, not raft's ERROR (demoted).
func newHCLogger(name string, log *slog.Logger, level slog.Level) hclog.Logger {
	return &hcSlog{log: log.With("component", name), name: name, level: hcLevel(level)}
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

// demoted are raft ERROR messages (prefixes) that describe a peer being unreachable or
// restarting: expected during rolling restarts, logged at WARN.
var demoted = []string{
	"failed to appendEntries to",
	"failed to heartbeat to",
	"failed to contact",
	"failed to make requestVote RPC",
	"failed to send snapshot to",
	"failed to get log",
}

type hcSlog struct {
	log     *slog.Logger
	name    string
	level   hclog.Level
	implied []any
}

var _ hclog.Logger = (*hcSlog)(nil)

func (h *hcSlog) Log(level hclog.Level, msg string, args ...any) {
	if level < h.level || level == hclog.Off {
		return
	}
	sl := slog.LevelInfo
	switch {
	case level <= hclog.Debug:
		sl = slog.LevelDebug
	case level == hclog.Warn:
		sl = slog.LevelWarn
	case level >= hclog.Error:
		sl = slog.LevelError
		for _, p := range demoted {
			if strings.HasPrefix(msg, p) {
				sl = slog.LevelWarn
				break
			}
		}
	}
	if !h.log.Enabled(context.Background(), sl) {
		return
	}
	h.log.Log(context.Background(), sl, msg, attrs(args)...)
}

// attrs turns hclog's alternating keys and values into slog attributes; a value that is
// an error is rendered as its text.
func attrs(args []any) []any {
	out := make([]any, 0, len(args))
	for i := 0; i < len(args); i += 2 {
		key := fmt.Sprint(args[i])
		if i+1 >= len(args) {
			out = append(out, slog.String("extra", key))
			break
		}
		v := args[i+1]
		if err, ok := v.(error); ok {
			v = err.Error()
		}
		out = append(out, slog.Any(key, v))
	}
	return out
}

func (h *hcSlog) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *hcSlog) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *hcSlog) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *hcSlog) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *hcSlog) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *hcSlog) IsTrace() bool { return h.level <= hclog.Trace }
func (h *hcSlog) IsDebug() bool { return h.level <= hclog.Debug }
func (h *hcSlog) IsInfo() bool  { return h.level <= hclog.Info }
func (h *hcSlog) IsWarn() bool  { return h.level <= hclog.Warn }
func (h *hcSlog) IsError() bool { return h.level <= hclog.Error }

func (h *hcSlog) ImpliedArgs() []any { return h.implied }

func (h *hcSlog) With(args ...any) hclog.Logger {
	c := *h
	c.implied = append(append([]any(nil), h.implied...), args...)
	c.log = h.log.With(attrs(args)...)
	return &c
}

func (h *hcSlog) Name() string { return h.name }

func (h *hcSlog) Named(name string) hclog.Logger {
	c := *h
	if h.name != "" {
		name = h.name + "." + name
	}
	c.name = name
	c.log = h.log.With("subsystem", name)
	return &c
}

func (h *hcSlog) ResetNamed(name string) hclog.Logger {
	c := *h
	c.name = name
	c.log = h.log.With("subsystem", name)
	return &c
}

func (h *hcSlog) SetLevel(level hclog.Level) { h.level = level }
func (h *hcSlog) GetLevel() hclog.Level      { return h.level }

func (h *hcSlog) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(h.StandardWriter(opts), "", 0)
}

func (h *hcSlog) StandardWriter(*hclog.StandardLoggerOptions) io.Writer { return stdWriter{h} }

// stdWriter is what raft's standard-library loggers (the transport's) write to: each
// line at INFO unless it carries a level tag.
type stdWriter struct{ h *hcSlog }

func (w stdWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	level := hclog.Info
	for _, t := range []struct {
		tag string
		l   hclog.Level
	}{{"[ERROR]", hclog.Error}, {"[ERR]", hclog.Error}, {"[WARN]", hclog.Warn}, {"[INFO]", hclog.Info}, {"[DEBUG]", hclog.Debug}, {"[TRACE]", hclog.Trace}} {
		if i := strings.Index(line, t.tag); i >= 0 {
			level, line = t.l, strings.TrimSpace(line[i+len(t.tag):])
			break
		}
	}
	w.h.Log(level, line)
	return len(p), nil
}
