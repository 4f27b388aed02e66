package main

// Operator commands: drain a node before maintenance, list slot migrations left frozen.

import (
	"context"
	"flag"
	"sort"
	"time"

	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

func ctlOpsCommands() []ctlCommand {
	drain := func(drained bool) func(fs *flag.FlagSet) ctlAction {
		return func(fs *flag.FlagSet) ctlAction {
			id := fs.String("id", "", "the member's raft server ID")
			return func(ctx context.Context, e *ctlEnv) (any, error) {
				if *id == "" {
					return nil, errUsage("the member ID is required")
				}
				c, err := e.client()
				if err != nil {
					return nil, err
				}
				return c.SetDrain(ctx, &ct.SetDrainRequest{Id: *id, Drained: drained})
			}
		}
	}
	return []ctlCommand{
		{path: "node drain", args: []string{"id"}, summary: "move leadership away from a member and keep it away until undrain (with --group through a router)",
			setup: drain(true)},
		{path: "node undrain", args: []string{"id"}, summary: "let a drained member lead again",
			setup: drain(false)},
		{path: "migrations", summary: "slots frozen by a migration, per group, with how long they have been frozen",
			setup: func(fs *flag.FlagSet) ctlAction {
				return func(ctx context.Context, e *ctlEnv) (any, error) {
					seeds, err := statusSeeds(ctx, e)
					if err != nil {
						return nil, err
					}
					return frozenMigrations(ctx, seeds, time.Now()), nil
				}
			}},
	}
}

// frozenRow is one frozen slot range: what `ctl migrations` lists.
type frozenRow struct {
	Group       int32  `json:"group"`
	From        int32  `json:"from"`
	To          int32  `json:"to"`
	Migration   int64  `json:"migration"`
	Epoch       int64  `json:"epoch"`
	FrozenSince string `json:"frozen_since"` // RFC 3339, "" when unknown
	FrozenFor   string `json:"frozen_for"`   // e.g. 12m3s, "" when unknown
	Error       string `json:"error,omitempty"`
}

// frozenMigrations asks each group (any member that answers, stale read) for its
// slots and keeps the frozen ranges; a group none of whose members answers is a row
// with its error.
func frozenMigrations(ctx context.Context, seeds []statusSeed, now time.Time) []frozenRow {
	rows := []frozenRow{}
	stale := &ct.ReadOptions{AllowStale: true}
	for _, s := range seeds {
		var so *ct.GetSlotOwnershipResponse
		var lastErr error
		for _, a := range s.Addrs {
			c, err := dialCopyTrade([]string{a}, timeLeft(ctx))
			if err == nil {
				so, err = c.GetSlotOwnership(ctx, &ct.GetSlotOwnershipRequest{ReadOpts: stale})
			}
			if err == nil {
				break
			}
			lastErr = err
		}
		if so == nil {
			msg := "no member known"
			if lastErr != nil {
				msg = describeError(lastErr)
			}
			rows = append(rows, frozenRow{Group: s.Group, Error: msg})
			continue
		}
		for _, r := range so.GetRanges() {
			if r.GetState() != ct.SlotState_FROZEN {
				continue
			}
			row := frozenRow{Group: so.GetGroup(), From: r.GetFirst(), To: r.GetTo(), Migration: r.GetMigration(), Epoch: r.GetEpoch()}
			if ms := r.GetFrozenSinceUnixMs(); ms > 0 {
				t := time.UnixMilli(ms).UTC()
				row.FrozenSince = t.Format(time.RFC3339)
				row.FrozenFor = now.Sub(t).Round(time.Second).String()
			}
			rows = append(rows, row)
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].Group != rows[j].Group {
			return rows[i].Group < rows[j].Group
		}
		return rows[i].From < rows[j].From
	})
	return rows
}
