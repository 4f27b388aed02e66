package secprobe

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestSecurityProbesShort is the short run of `make security` in the test suite: a
// cluster of real processes (built from cmd/copytrade, every hop over mutual TLS)
// refuses every probe, and no process dies.
func TestSecurityProbesShort(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "copytrade")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/copytrade/copytrade/cmd/copytrade").CombinedOutput(); err != nil {
		t.Fatalf("build copytrade: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Config{Binary: bin, Dir: data, Short: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(rep.String())
	if !rep.OK() || rep.Probes < 50 {
		t.Fatalf("%s", rep.Summary())
	}
}
