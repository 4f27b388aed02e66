//go:build chaos

package shard

import (
	"fmt"
	"testing"
	"time"
)

// TestChaosFaultScenarios is the long run of the process fault scenarios (`make
// chaos`): every scenario in turn with longer holds, again and again for
// -chaos.duration, with the leader pause repeated until it ran at least 30 times. It
// prints one figure line per scenario run and ends with the summary line. A failed check
// does not stop the run: the summary counts every scenario's losses and duplicates.
func TestChaosFaultScenarios(t *testing.T) {
	c := newProcCluster(t, 50)
	c.pauseMidDispatch = true
	var rs []procResult
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
			fmt.Println(r.line())
			rs = append(rs, r) // on: a failed check is counted, and the run goes on to count the rest
		}
	}
	c.checkLogs()
	fmt.Println(summary(rs))
}
