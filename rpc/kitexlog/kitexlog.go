// Package kitexlog sends Kitex's own log lines (klog: "server listen at", retries,
// shutdown) through a slog.Logger, so every line of a process has one format (text or
// JSON) and one level filter. Kitex's logger is a process-wide variable that klog reads
// without synchronisation: Install swaps it once, at the very start of main, before any
// Kitex code runs; Use then points it at a logger, safely at any time.
package kitexlog

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/cloudwego/kitex/pkg/klog"
)

// target is the logger Install's klog logger writes to (nil: slog.Default()).
var target atomic.Pointer[slog.Logger]

// Install makes Kitex log through Use's logger. Call it first thing in main: klog's
// logger variable is not safe to set while Kitex code runs.
func Install() { klog.SetLogger(&logger{}) }

// Use points Install's logger at log (with component=kitex); safe at any time.
func Use(log *slog.Logger) { target.Store(log.With("component", "kitex")) }

// New is a klog.FullLogger writing to log with component=kitex.
func New(log *slog.Logger) klog.FullLogger { return &logger{log: log.With("component", "kitex")} }

// logger writes to log, or (log nil) to Use's logger.
type logger struct{ log *slog.Logger }

func (g *logger) out() *slog.Logger {
	if g.log != nil {
		return g.log
	}
	if l := target.Load(); l != nil {
		return l
	}
	return slog.Default()
}

var _ klog.FullLogger = (*logger)(nil)

func level(l klog.Level) slog.Level {
	switch l {
	case klog.LevelTrace, klog.LevelDebug:
		return slog.LevelDebug
	case klog.LevelInfo, klog.LevelNotice:
		return slog.LevelInfo
	case klog.LevelWarn:
		return slog.LevelWarn
	}
	return slog.LevelError
}

func (g *logger) emit(ctx context.Context, l klog.Level, msg string) {
	if ctx == nil {
		ctx = context.Background()
	}
	g.out().Log(ctx, level(l), strings.TrimPrefix(strings.TrimSpace(msg), "KITEX: "))
}

func (g *logger) Trace(v ...any)  { g.emit(nil, klog.LevelTrace, fmt.Sprint(v...)) }
func (g *logger) Debug(v ...any)  { g.emit(nil, klog.LevelDebug, fmt.Sprint(v...)) }
func (g *logger) Info(v ...any)   { g.emit(nil, klog.LevelInfo, fmt.Sprint(v...)) }
func (g *logger) Notice(v ...any) { g.emit(nil, klog.LevelNotice, fmt.Sprint(v...)) }
func (g *logger) Warn(v ...any)   { g.emit(nil, klog.LevelWarn, fmt.Sprint(v...)) }
func (g *logger) Error(v ...any)  { g.emit(nil, klog.LevelError, fmt.Sprint(v...)) }
func (g *logger) Fatal(v ...any)  { g.emit(nil, klog.LevelFatal, fmt.Sprint(v...)) }

func (g *logger) Tracef(f string, v ...any)  { g.emit(nil, klog.LevelTrace, fmt.Sprintf(f, v...)) }
func (g *logger) Debugf(f string, v ...any)  { g.emit(nil, klog.LevelDebug, fmt.Sprintf(f, v...)) }
func (g *logger) Infof(f string, v ...any)   { g.emit(nil, klog.LevelInfo, fmt.Sprintf(f, v...)) }
func (g *logger) Noticef(f string, v ...any) { g.emit(nil, klog.LevelNotice, fmt.Sprintf(f, v...)) }
func (g *logger) Warnf(f string, v ...any)   { g.emit(nil, klog.LevelWarn, fmt.Sprintf(f, v...)) }
func (g *logger) Errorf(f string, v ...any)  { g.emit(nil, klog.LevelError, fmt.Sprintf(f, v...)) }
func (g *logger) Fatalf(f string, v ...any)  { g.emit(nil, klog.LevelFatal, fmt.Sprintf(f, v...)) }

func (g *logger) CtxTracef(ctx context.Context, f string, v ...any) {
	g.emit(ctx, klog.LevelTrace, fmt.Sprintf(f, v...))
}
func (g *logger) CtxDebugf(ctx context.Context, f string, v ...any) {
	g.emit(ctx, klog.LevelDebug, fmt.Sprintf(f, v...))
}
func (g *logger) CtxInfof(ctx context.Context, f string, v ...any) {
	g.emit(ctx, klog.LevelInfo, fmt.Sprintf(f, v...))
}
func (g *logger) CtxNoticef(ctx context.Context, f string, v ...any) {
	g.emit(ctx, klog.LevelNotice, fmt.Sprintf(f, v...))
}
func (g *logger) CtxWarnf(ctx context.Context, f string, v ...any) {
	g.emit(ctx, klog.LevelWarn, fmt.Sprintf(f, v...))
}
func (g *logger) CtxErrorf(ctx context.Context, f string, v ...any) {
	g.emit(ctx, klog.LevelError, fmt.Sprintf(f, v...))
}
func (g *logger) CtxFatalf(ctx context.Context, f string, v ...any) {
	g.emit(ctx, klog.LevelFatal, fmt.Sprintf(f, v...))
}

// SetLevel and SetOutput are no-ops: the slog.Logger's handler decides both.
func (g *logger) SetLevel(klog.Level) {}
func (g *logger) SetOutput(io.Writer) {}
