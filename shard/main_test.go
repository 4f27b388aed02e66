package shard

import (
	"os"
	"testing"

	"github.com/cloudwego/kitex/pkg/klog"
)

// afterTests run once every test has run (files with build tags add to it: `make
// chaos` prints its summary line last, whatever ran and failed before).
var afterTests []func()

func TestMain(m *testing.M) {
	klog.SetLevel(klog.LevelWarn)
	code := m.Run()
	for _, f := range afterTests {
		f()
	}
	os.Exit(code)
}
