package bench

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Supervisor starts child processes and guarantees they are gone when it stops: each
// child runs in its own process group (so a signal reaches anything it forks, and a
// Ctrl-C at the terminal reaches only the bench, which then stops them in order), gets
// SIGKILL from the kernel if the bench dies without cleaning up (Pdeathsig), and
// StopAll signals every group, waits for every child and SIGKILLs the ones that
// outlive the grace period. Safe for concurrent use.
type Supervisor struct {
	log   *slog.Logger
	grace time.Duration

	mu      sync.Mutex
	procs   []*Proc
	stopped bool
}

// Proc is one supervised child.
type Proc struct {
	Name string
	Args []string
	Cmd  *exec.Cmd
	// LogPath is where its stdout and stderr go.
	LogPath string

	done    chan struct{} // closed when Wait returned
	waitErr error
	logf    *os.File
}

// NewSupervisor returns a supervisor; grace is how long StopAll waits after SIGTERM
// before SIGKILL.
func NewSupervisor(log *slog.Logger, grace time.Duration) *Supervisor {
	return &Supervisor{log: log, grace: grace}
}

// Start runs bin with args, its output appended to logPath ("" discards it).
func (s *Supervisor) Start(name, bin string, args []string, logPath string) (*Proc, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil, fmt.Errorf("bench: start %s: supervisor already stopped", name)
	}
	p := &Proc{Name: name, Args: args, LogPath: logPath, done: make(chan struct{})}
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var out io.Writer = io.Discard
	if logPath != "" {
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("bench: start %s: log file: %w", name, err)
		}
		p.logf, out = f, f
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		if p.logf != nil {
			p.logf.Close()
		}
		return nil, fmt.Errorf("bench: start %s (%s): %w", name, bin, err)
	}
	p.Cmd = cmd
	go func() {
		p.waitErr = cmd.Wait()
		if p.logf != nil {
			p.logf.Close()
		}
		close(p.done)
	}()
	s.procs = append(s.procs, p)
	s.log.Debug("started", "proc", name, "pid", cmd.Process.Pid)
	return p, nil
}

// Pid is the child's process ID.
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

// Exited reports whether the child has exited (and been waited for).
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Done is closed once the child has exited and been waited for.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is the child's exit status once Done is closed.
func (p *Proc) Err() error { <-p.done; return p.waitErr }

// signal sends sig to the child's whole process group, which may outlive the child
// itself (a grandchild): the kernel keeps the group ID reserved while it has members.
func (p *Proc) signal(sig syscall.Signal) {
	if err := syscall.Kill(-p.Pid(), sig); err != nil && !errors.Is(err, syscall.ESRCH) && !p.Exited() {
		_ = p.Cmd.Process.Signal(sig)
	}
}

// Kill sends SIGKILL to the child's process group and waits until it is reaped.
func (p *Proc) Kill() {
	p.signal(syscall.SIGKILL)
	<-p.done
}

// Pids lists the process IDs of every child started so far.
func (s *Supervisor) Pids() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int, 0, len(s.procs))
	for _, p := range s.procs {
		out = append(out, p.Pid())
	}
	return out
}

// StopAll sends SIGTERM to every child's group, waits up to the grace period, then
// SIGKILLs the rest and waits for all of them: no child outlives it. Later Starts fail.
func (s *Supervisor) StopAll() {
	s.mu.Lock()
	s.stopped = true
	procs := append([]*Proc(nil), s.procs...)
	s.mu.Unlock()
	for _, p := range procs {
		p.signal(syscall.SIGTERM)
	}
	deadline := time.After(s.grace)
wait:
	for _, p := range procs {
		select {
		case <-p.done:
		case <-deadline:
			break wait
		}
	}
	for _, p := range procs {
		if !p.Exited() {
			s.log.Warn("child did not stop in time; killing", "proc", p.Name, "pid", p.Pid())
		}
		p.Kill()
	}
}

// ProcessAlive reports whether a process with pid exists and is not a zombie.
func ProcessAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	// Field 3 is the state, after "pid (comm)"; comm may contain spaces.
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == ')' {
			return i+2 >= len(b) || b[i+2] != 'Z'
		}
	}
	return true
}
