package router

// Hooks into the router's internals for its external tests (package router_test, which
// can use tools/testcluster: that package imports router, so internal tests could not).

// OfferRangeForTest offers slots from..to to r's slot map as owned by group at epoch,
// as a refresh from that group would.
func (r *Router) OfferRangeForTest(from, to uint16, group uint32, epoch uint64) int {
	return r.slots.offerRange(from, to, group, epoch)
}

// HandlerForTest is r's RPC handler, to call in process.
func HandlerForTest(r *Router) *Handler { return &Handler{r: r} }
