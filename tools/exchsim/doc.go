// Package exchsim simulates the trading system copytrade places orders on: the
// TradingGateway service of rpc/idl/gateway.thrift, for development, tests and
// benchmarks.
//
// [Sim] is the exchange core and needs no network: instruments whose mark prices
// follow a seeded random walk in whole ticks, accounts in hedge or one-way position
// mode, MARKET and IOC-limit orders filled at once at the mark plus or minus half the
// spread (an IOC limit that is not marketable expires: PRICE_OUT_OF_BAND), reduce-only,
// initial-margin, lot-step, minimum and leverage rules with stable reject reasons,
// taker fees, realised PnL, and transfers idempotent by ID. Every result is final.
//
// Two modes decide what a repeated client order ID does: [Strict] answers with the
// original order (Duplicate set) and never creates a second one; [NoDedup] creates a
// second order, as a real venue does once its dedup window has passed. In both,
// [Sim.OrderCount] says how many orders were created per ID: the proof that the
// caller placed each copy exactly once.
//
// [Serve] exposes a Sim over Kitex ([Handler] implements the generated interface);
// [NewClient] dials it with the matching options. [Sim.PlaceLeadOrder] and
// [Activity] produce the lead traders' fill stream ([LeadFill]) that feeds copytrade
// through a [FillSink].
//
// Money and quantities are [github.com/copytrade/copytrade/raftfsm/fixed.Dec]; the only float is the random walk's normal
// draw, rounded to an integer before it touches a price. See DESIGN.md.
package exchsim
