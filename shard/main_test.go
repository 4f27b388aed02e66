package shard

import (
	"os"
	"testing"

	"github.com/cloudwego/kitex/pkg/klog"
)

func TestMain(m *testing.M) {
	klog.SetLevel(klog.LevelWarn)
	os.Exit(m.Run())
}
