package main

import (
	"flag"

	"github.com/copytrade/copytrade/rpc/auth"
)

// limitKinds are the identity kinds with a rate budget, in flag order.
var limitKinds = []string{"account", "trading-system", "admin", "router", auth.KindUnauthenticated}

// limitFlags registers --KIND-rate and --KIND-burst for every identity kind on fs (the
// node and the router take the same ones), defaulting to auth.DefaultLimits. The
// returned function reads them after fs.Parse.
func limitFlags(fs *flag.FlagSet) func() map[string]auth.Limit {
	def := auth.DefaultLimits()
	rates := make(map[string]*float64, len(limitKinds))
	bursts := make(map[string]*int, len(limitKinds))
	for _, k := range limitKinds {
		who := "per " + k + " identity"
		if k == auth.KindUnauthenticated {
			who = "per peer address, for calls whose token does not verify"
		}
		rates[k] = fs.Float64(k+"-rate", def[k].PerSecond, "calls per second "+who+" (0: unlimited)")
		bursts[k] = fs.Int(k+"-burst", def[k].Burst, "burst "+who)
	}
	return func() map[string]auth.Limit {
		out := make(map[string]auth.Limit, len(limitKinds))
		for _, k := range limitKinds {
			out[k] = auth.Limit{PerSecond: *rates[k], Burst: *bursts[k]}
		}
		return out
	}
}
