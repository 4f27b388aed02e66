package convert

import (
	"context"
	"errors"

	"github.com/cloudwego/kitex/pkg/endpoint"
	"github.com/cloudwego/kitex/pkg/kerrors"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"github.com/cloudwego/kitex/transport"

	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// Errors for any Thrift client. A business status error travels in TTHeader headers
// only: a caller over plain framed or buffered binary (Apache Thrift in any language)
// used to read every refusal as "unknown result". Every CopyTrade method declares the
// exception CopyTradeError; ExceptionMiddleware answers such a caller's refusal with it
// (code, message, extra), and leaves TTHeader callers (Kitex clients: the router, the
// tools) their business status errors as before.

// ExceptionMiddleware is the CopyTrade server middleware that turns a business status
// error — returned by the handler, or set on the call by a middleware inside it (the
// auth guard) — into the declared CopyTradeError for a caller not on TTHeader. Install
// it first (outermost).
func ExceptionMiddleware(next endpoint.Endpoint) endpoint.Endpoint {
	return func(ctx context.Context, req, resp interface{}) error {
		err := next(ctx, req, resp)
		ri := rpcinfo.GetRPCInfo(ctx)
		if ri == nil || ri.Config() == nil || ri.Config().TransportProtocol()&transport.TTHeader != 0 {
			return err
		}
		res, ok := resp.(interface{ SetErr(*ct.CopyTradeError) })
		if !ok {
			return err
		}
		var be kerrors.BizStatusErrorIface
		switch {
		case err != nil:
			if be, ok = kerrors.FromBizStatusError(err); !ok {
				return err // a transport or internal error: Thrift's application exception
			}
		case ri.Invocation() != nil && ri.Invocation().BizStatusErr() != nil:
			be = ri.Invocation().BizStatusErr()
			if s, ok := ri.Invocation().(rpcinfo.InvocationSetter); ok {
				s.SetBizStatusErr(nil)
			}
		default:
			return nil
		}
		res.SetErr(&ct.CopyTradeError{Code: ct.ErrorCode(be.BizStatusCode()), Message: be.BizMessage(), Extra: be.BizExtra()})
		return nil
	}
}

// exceptionStatus decodes a declared CopyTradeError (a caller that reads exceptions).
func exceptionStatus(err error) (Status, bool) {
	var ce *ct.CopyTradeError
	if !errors.As(err, &ce) {
		return Status{}, false
	}
	return Status{Code: ce.Code, Msg: ce.Message, Extra: ce.Extra}, true
}
