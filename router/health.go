package router

import (
	"fmt"
	"strings"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
)

// Ready reports whether the router can route: every slot's owner is known and every
// group of the topology had a member answer a slot-map refresh within the last three
// refresh intervals. nil means ready; the error says what is missing.
func (r *Router) Ready() error {
	unknown := 0
	for s := range raftfsm.NumSlots {
		if r.slots.get(uint16(s)).group == 0 {
			unknown++
		}
	}
	var probs []string
	if unknown > 0 {
		probs = append(probs, fmt.Sprintf("%d slots have no known owner", unknown))
	}
	window := 3 * r.cfg.RefreshInterval
	for _, g := range r.topo.Load().Groups {
		v, ok := r.answered.Load(g.ID)
		if t, _ := v.(time.Time); !ok || time.Since(t) > window {
			probs = append(probs, fmt.Sprintf("no member of group %d answered within %s", g.ID, window))
		}
	}
	if len(probs) > 0 {
		return fmt.Errorf("%s", strings.Join(probs, "; "))
	}
	return nil
}
