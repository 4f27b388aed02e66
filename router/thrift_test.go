package router_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"

	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/tlsconf"
	"github.com/copytrade/copytrade/tools/exchsim"
	"github.com/copytrade/copytrade/tools/testcluster"
)

// The foreign client: Apache Thrift's own Go library (not Kitex), its binary protocol
// over a framed or buffered transport on a TLS socket, encoding requests and decoding
// replies field by field as any generated client would.

// tfield is one field to write: id, type and value (int64, int32, string, bool or
// []tfield for a struct).
type tfield struct {
	id  int16
	typ thrift.TType
	v   any
}

func writeStruct(ctx context.Context, p thrift.TProtocol, fields []tfield) error {
	if err := p.WriteStructBegin(ctx, "s"); err != nil {
		return err
	}
	for _, f := range fields {
		if err := p.WriteFieldBegin(ctx, "f", f.typ, f.id); err != nil {
			return err
		}
		var err error
		switch v := f.v.(type) {
		case int64:
			err = p.WriteI64(ctx, v)
		case int32:
			err = p.WriteI32(ctx, v)
		case string:
			err = p.WriteString(ctx, v)
		case bool:
			err = p.WriteBool(ctx, v)
		case []tfield:
			err = writeStruct(ctx, p, v)
		default:
			err = fmt.Errorf("field %d: unsupported %T", f.id, v)
		}
		if err != nil {
			return err
		}
		if err := p.WriteFieldEnd(ctx); err != nil {
			return err
		}
	}
	if err := p.WriteFieldStop(ctx); err != nil {
		return err
	}
	return p.WriteStructEnd(ctx)
}

// readValue decodes any Thrift value: a struct as map[int16]any, a list as []any, a
// map as map[any]any.
func readValue(ctx context.Context, p thrift.TProtocol, typ thrift.TType) (any, error) {
	switch typ {
	case thrift.BOOL:
		return p.ReadBool(ctx)
	case thrift.BYTE:
		return p.ReadByte(ctx)
	case thrift.I16:
		return p.ReadI16(ctx)
	case thrift.I32:
		return p.ReadI32(ctx)
	case thrift.I64:
		return p.ReadI64(ctx)
	case thrift.DOUBLE:
		return p.ReadDouble(ctx)
	case thrift.STRING:
		return p.ReadString(ctx)
	case thrift.STRUCT:
		if _, err := p.ReadStructBegin(ctx); err != nil {
			return nil, err
		}
		out := map[int16]any{}
		for {
			_, ft, id, err := p.ReadFieldBegin(ctx)
			if err != nil {
				return nil, err
			}
			if ft == thrift.STOP {
				break
			}
			if out[id], err = readValue(ctx, p, ft); err != nil {
				return nil, err
			}
			if err := p.ReadFieldEnd(ctx); err != nil {
				return nil, err
			}
		}
		return out, p.ReadStructEnd(ctx)
	case thrift.LIST, thrift.SET:
		et, n, err := p.ReadListBegin(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = readValue(ctx, p, et); err != nil {
				return nil, err
			}
		}
		return out, p.ReadListEnd(ctx)
	case thrift.MAP:
		kt, vt, n, err := p.ReadMapBegin(ctx)
		if err != nil {
			return nil, err
		}
		out := map[any]any{}
		for range n {
			k, err := readValue(ctx, p, kt)
			if err != nil {
				return nil, err
			}
			if out[k], err = readValue(ctx, p, vt); err != nil {
				return nil, err
			}
		}
		return out, p.ReadMapEnd(ctx)
	}
	return nil, fmt.Errorf("unsupported type %v", typ)
}

// foreignCall calls method with the request struct req (argument field 1) and returns
// the reply's result struct: field 0 the success, field 1 the declared CopyTradeError.
func foreignCall(ctx context.Context, p thrift.TProtocol, seq int32, method string, req []tfield) (map[int16]any, error) {
	if err := p.WriteMessageBegin(ctx, method, thrift.CALL, seq); err != nil {
		return nil, err
	}
	if err := writeStruct(ctx, p, []tfield{{1, thrift.STRUCT, req}}); err != nil {
		return nil, err
	}
	if err := p.WriteMessageEnd(ctx); err != nil {
		return nil, err
	}
	if err := p.Flush(ctx); err != nil {
		return nil, err
	}
	name, mt, rseq, err := p.ReadMessageBegin(ctx)
	if err != nil {
		return nil, err
	}
	if mt == thrift.EXCEPTION {
		ae := thrift.NewTApplicationException(0, "")
		if err := ae.Read(ctx, p); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("application exception: %w", ae)
	}
	if name != method || mt != thrift.REPLY || rseq != seq {
		return nil, fmt.Errorf("reply %s type %d seq %d to %s seq %d", name, mt, rseq, method, seq)
	}
	v, err := readValue(ctx, p, thrift.STRUCT)
	if err != nil {
		return nil, err
	}
	return v.(map[int16]any), p.ReadMessageEnd(ctx)
}

// TestApacheThriftClient: a client built on Apache Thrift's Go library, over framed
// and over buffered binary on TLS with a client certificate (the trading system's:
// no token, no TTHeader), through the router: a read, a write, and a refused call
// that arrives as the declared exception with its code and message.
func TestApacheThriftClient(t *testing.T) {
	c := testcluster.New(t, testcluster.Options{Groups: 1, Mode: exchsim.Strict, Auth: true, TLS: true})
	trader := testcluster.TraderIn(1, 1, 1, 3_000_000)[0]
	c.Seed([]int64{trader}, 2, 7_200_000)
	tlsCfg := c.CA.Store(tlsconf.RoleIdentity("trading-system", "apache-client")).ClientConfig(nil)

	for i, mode := range []string{"framed", "buffered"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			conf := &thrift.TConfiguration{TLSConfig: tlsCfg, ConnectTimeout: 5 * time.Second, SocketTimeout: 20 * time.Second}
			sock := thrift.NewTSSLSocketConf(c.Router.Addr().String(), conf)
			var trans thrift.TTransport = thrift.NewTFramedTransportConf(sock, conf)
			if mode == "buffered" {
				trans = thrift.NewTBufferedTransport(sock, 8192)
			}
			if err := trans.Open(); err != nil {
				t.Fatal(err)
			}
			defer trans.Close()
			p := thrift.NewTBinaryProtocolConf(trans, conf)

			// A read.
			res, err := foreignCall(ctx, p, 1, "GetTrader", []tfield{{1, thrift.I64, trader}})
			if err != nil {
				t.Fatalf("GetTrader: %v", err)
			}
			success, ok := res[0].(map[int16]any)
			if !ok {
				t.Fatalf("GetTrader: no success in %v", res)
			}
			if tr, _ := success[1].(map[int16]any); tr == nil || tr[1] != trader || tr[4] != int32(ct.TraderStatus_ACTIVE) {
				t.Fatalf("GetTrader: %v, want trader %d ACTIVE", success, trader)
			}

			// A write: the trading system's fill, copied to both copiers.
			fill := []tfield{{1, thrift.I64, trader}, {2, thrift.I64, int64(100 + i)}, {3, thrift.STRING, testcluster.Symbol},
				{4, thrift.I32, int32(ct.Side_BUY)}, {5, thrift.I32, int32(ct.PositionSide_LONG)}, {6, thrift.STRING, "0.01"},
				{7, thrift.STRING, "60000"}, {8, thrift.I32, int32(10)}, {9, thrift.I32, int32(ct.MarginMode_CROSS)},
				{10, thrift.STRING, "100000"},
				{12, thrift.STRING, fmt.Sprintf("0.0%d", i+1)}, // fill v2: the position after (one 0.01 buy per mode)
				{16, thrift.I64, time.Now().UnixNano()}}
			res, err = foreignCall(ctx, p, 2, "SubmitFill", []tfield{{1, thrift.I64, trader}, {2, thrift.STRUCT, fill},
				{3, thrift.I32, int32(ct.WaitFor_ACKED)}})
			if err != nil {
				t.Fatalf("SubmitFill: %v", err)
			}
			success, _ = res[0].(map[int16]any)
			outcome, _ := success[1].(map[int16]any)
			switch {
			case outcome == nil:
				t.Fatalf("SubmitFill: %v, want an outcome", res)
			case outcome[3] == int32(ct.ErrorCode_DUPLICATE_FILL) && strings.HasPrefix(fmt.Sprint(outcome[4]), "applied"):
				// The router resent it across a failover of the loaded machine and says the
				// first attempt applied: a write that went through, counts unknown.
			case outcome[3] != int32(ct.ErrorCode_OK) || outcome[7] != int32(2):
				t.Fatalf("SubmitFill: %v, want OK with 2 orders placed", res)
			}

			// A refused call: the trading system may not upsert instruments.
			res, err = foreignCall(ctx, p, 3, "UpsertInstrument", []tfield{{1, thrift.STRUCT, []tfield{{1, thrift.STRING, "ETHUSDT"}}}})
			if err != nil {
				t.Fatalf("UpsertInstrument: %v (want the declared exception, not a transport error)", err)
			}
			exc, ok := res[1].(map[int16]any)
			if !ok {
				t.Fatalf("UpsertInstrument: no declared exception in %v", res)
			}
			if exc[1] != int32(ct.ErrorCode_FORBIDDEN) || !strings.Contains(fmt.Sprint(exc[2]), "forbidden") {
				t.Fatalf("UpsertInstrument: exception %v, want code %d (FORBIDDEN) and its message", exc, ct.ErrorCode_FORBIDDEN)
			}
		})
	}
}
