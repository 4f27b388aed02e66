package main

// Helpers for tests that run copytrade as real processes: the binary is built once per
// test binary (without -race: the children need not be instrumented) and removed by
// TestMain.

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binPath string
	binDir  string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// copytradeBin builds cmd/copytrade once and returns its path.
func copytradeBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "copytrade-cmd-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "copytrade")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = &procBuildError{err: err, out: string(out)}
		}
	})
	if binErr != nil {
		t.Fatalf("build copytrade: %v", binErr)
	}
	return binPath
}

type procBuildError struct {
	err error
	out string
}

func (e *procBuildError) Error() string { return e.err.Error() + "\n" + e.out }

// syncBuffer is a bytes.Buffer safe for a child's output and the test reading it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a running copytrade child.
type proc struct {
	cmd    *exec.Cmd
	out    syncBuffer
	exited chan struct{}
	err    error
}

// startProc runs copytrade with args; the test's cleanup stops it (SIGTERM, then
// SIGKILL after 15 s).
func startProc(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(copytradeBin(t), args...), exited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start copytrade %v: %v", args, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// alive reports whether the child is still running.
func (p *proc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop ends the child with SIGTERM (SIGKILL after 15 s) and returns its exit error.
func (p *proc) stop(t *testing.T) error {
	t.Helper()
	if !p.alive() {
		return p.err
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		t.Errorf("copytrade %v ignored SIGTERM for 15 s:\n%s", p.cmd.Args[1:], p.out.String())
	}
	return p.err
}
