// Package convert translates between the CopyTrade Thrift types (rpc/kitex_gen/copytrade)
// and the raftfsm commands, results and state views, and validates every request field at
// the edge.
//
// Validation happens here, before anything reaches Raft: an invalid request never becomes a
// log entry. Every refusal is a *FieldError naming the field ("fill.qty: must be > 0"), which
// wraps ErrInvalidArgument and maps to ErrorCode INVALID_ARGUMENT (2004) at the RPC edge.
//
// Error codes (see rpc/idl/copytrade.thrift, enum ErrorCode):
//
//	1000 + raftfsm.Code   a deterministic refusal of the state machine, 1:1
//	                      (1015 MOVED carries extras group and epoch; 1016 MOVING)
//	2001 NOT_LEADER       extras leader_addr (RPC address) and leader_id
//	2002 UNAVAILABLE      2003 DEADLINE      2004 INVALID_ARGUMENT
//	2005 UNAUTHENTICATED  2006 FORBIDDEN     2007 RATE_LIMITED (reserved for the router)
//	2099 INTERNAL
//
// Enum values of the IDL equal raftfsm's numeric values, so enum conversion is a range check
// and a cast; the tests pin that equality.
package convert
