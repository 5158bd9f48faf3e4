// Package children keeps the processes a benchmark program starts (servers, edges, tools) so
// that every way out, an error, an interrupt or the end, stops them all: SIGTERM, then SIGKILL
// after 5 s; and the kernel sends SIGTERM to each should the program die first (Pdeathsig).
package children

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc is one child process.
type Proc struct {
	Name  string
	Cmd   *exec.Cmd
	Log   *os.File         // its output, when the caller gave one; closed once it exited
	Done  chan struct{}    // closed once it has exited
	State *os.ProcessState // how it ended; set before Done closes
}

var all struct {
	sync.Mutex
	m       map[*Proc]bool
	stopped bool // StopAll ran: nothing more may start
}

// Start starts cmd (its output already set up; log, when not nil, is closed once it exits).
func Start(name string, cmd *exec.Cmd, log *os.File) (*Proc, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	// Under the lock, so that an interrupt's StopAll sees every process started.
	all.Lock()
	defer all.Unlock()
	if all.stopped {
		return nil, fmt.Errorf("%s: stopping", name)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &Proc{Name: name, Cmd: cmd, Log: log, Done: make(chan struct{})}
	go func() {
		cmd.Wait()
		p.State = cmd.ProcessState
		if log != nil {
			log.Close()
		}
		close(p.Done)
	}()
	if all.m == nil {
		all.m = map[*Proc]bool{}
	}
	all.m[p] = true
	return p, nil
}

// Exited reports whether p has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.Done:
		return true
	default:
		return false
	}
}

// Pid is p's process ID.
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

// Forget drops a process that ended by itself from the ones StopAll stops.
func Forget(p *Proc) {
	all.Lock()
	delete(all.m, p)
	all.Unlock()
}

// Stop sends SIGTERM to each, then SIGKILL to those still running after 5 s.
func Stop(ps []*Proc) {
	for _, p := range ps {
		p.Cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.After(5 * time.Second)
	for _, p := range ps {
		select {
		case <-p.Done:
		case <-deadline:
			p.Cmd.Process.Kill()
			<-p.Done
		}
	}
	all.Lock()
	for _, p := range ps {
		delete(all.m, p)
	}
	all.Unlock()
}

// StopAll stops every process still running, and any later Start fails.
func StopAll() {
	all.Lock()
	all.stopped = true
	var ps []*Proc
	for p := range all.m {
		ps = append(ps, p)
	}
	all.Unlock()
	if len(ps) > 0 {
		Stop(ps)
	}
}

// OnSignal makes SIGINT and SIGTERM stop every child, run cleanup (when not nil), and exit
// 130, with one line on stderr that names the program.
func OnSignal(program string, cleanup func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		fmt.Fprintln(os.Stderr, program+":", s, "- stopping every process started")
		StopAll()
		if cleanup != nil {
			cleanup()
		}
		os.Exit(130)
	}()
}

// BuildPixcdn builds ./cmd/pixcdn of the module the calling program runs in (go run from the
// repository) into dir, and returns the binary's path.
func BuildPixcdn(dir string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	mod := strings.TrimSpace(string(out))
	if err != nil || mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the pixcdn module: run from the repository (or give the binary)")
	}
	bin := filepath.Join(dir, "pixcdn")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/pixcdn")
	cmd.Dir = filepath.Dir(mod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/pixcdn: %v\n%s", err, out)
	}
	return bin, nil
}

// Run runs cmd to completion as a tracked child (its output already set up): at most limit,
// then SIGTERM and SIGKILL. It returns how the process ended; an error when it could not
// start, ran past limit, or did not exit 0.
func Run(name string, cmd *exec.Cmd, limit time.Duration) (*os.ProcessState, error) {
	p, err := Start(name, cmd, nil)
	if err != nil {
		return nil, err
	}
	select {
	case <-p.Done:
		Forget(p)
	case <-time.After(limit):
		Stop([]*Proc{p})
		return p.State, fmt.Errorf("%s did not finish within %v (stopped)", name, limit)
	}
	if !p.State.Success() {
		return p.State, fmt.Errorf("%s: %s", name, p.State)
	}
	return p.State, nil
}

// StartServer starts bin with args as a tracked child, its output to a new file at logPath,
// with env added to this process's environment.
func StartServer(name, logPath string, env []string, bin string, args ...string) (*Proc, error) {
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	p, err := Start(name, cmd, lf)
	if err != nil {
		lf.Close()
	}
	return p, err
}
