//go:build chaos

package shard

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// chaosResults are the figure lines of every `make chaos` test in this run; the summary
// line over all of them is printed after the last test (TestMain's afterTests).
var chaosResults struct {
	sync.Mutex
	rs []procResult
}

// reportChaos prints one scenario's figure line and counts it in the summary.
func reportChaos(r procResult) {
	fmt.Println(r.line())
	chaosResults.Lock()
	chaosResults.rs = append(chaosResults.rs, r)
	chaosResults.Unlock()
}

func init() {
	afterTests = append(afterTests, func() {
		chaosResults.Lock()
		defer chaosResults.Unlock()
		if len(chaosResults.rs) > 0 {
			fmt.Println(summary(chaosResults.rs))
		}
	})
}

// TestChaosFaultScenarios is the long run of the process fault scenarios (`make
// chaos`): every scenario in turn with longer holds, again and again for
// -chaos.duration, with the leader pause repeated until it ran at least 30 times. It
// prints one figure line per scenario run; the summary line (with the other chaos
// tests' figures) follows the last test. A failed check does not stop the run: the
// summary counts every scenario's losses and duplicates.
func TestChaosFaultScenarios(t *testing.T) {
	c := newProcCluster(t, 50)
	pauses := 0
	deadline := time.Now().Add(*chaosDuration)
	for round := 0; time.Now().Before(deadline) || pauses < 30; round++ {
		for _, s := range procScenarios {
			if time.Now().After(deadline) && s.name != "pause-leader" {
				continue
			}
			hold := time.Duration(1+round%3) * time.Second
			r := runProcScenario(t, c, s, hold)
			if s.name == "pause-leader" {
				pauses++
			}
			reportChaos(r) // on: a failed check is counted, and the run goes on to count the rest
		}
	}
	c.checkLogs()
}
