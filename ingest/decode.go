package ingest

import (
	"fmt"

	"github.com/bytedance/sonic"

	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// Decode reads one record value as a fill v2 (the generated ct.Fill, so fields added to
// the IDL come along without a change here). It checks only what the filter needs
// (trader > 0); Validate checks the rest for fills that will be forwarded.
func Decode(f Format, b []byte) (*ct.Fill, error) {
	fill := &ct.Fill{}
	switch f {
	case FormatJSON:
		if err := sonic.Unmarshal(b, fill); err != nil {
			return nil, fmt.Errorf("%w: json: %v", ErrMalformed, err)
		}
	case FormatThrift:
		n, err := fastRead(fill, b)
		if err != nil {
			return nil, fmt.Errorf("%w: thrift: %v", ErrMalformed, err)
		}
		if n != len(b) {
			return nil, fmt.Errorf("%w: thrift: %d trailing bytes after the fill", ErrMalformed, len(b)-n)
		}
	default:
		return nil, fmt.Errorf("%w: unknown format %d", ErrMalformed, f)
	}
	if fill.Trader <= 0 {
		return nil, fmt.Errorf("%w: fill.trader: must be > 0, got %d", ErrMalformed, fill.Trader)
	}
	return fill, nil
}

// Validate applies the router's edge validation (rpc/convert) to a fill about to be
// forwarded: a fill it refuses is malformed (dead-lettered), not a refusal to wait on.
func Validate(f *ct.Fill) error {
	if _, err := convert.Fill("fill", f); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}

// Encode writes a fill in format f (producers: exchsim's publisher, tests, bench).
func Encode(f Format, fill *ct.Fill) ([]byte, error) {
	switch f {
	case FormatJSON:
		return sonic.Marshal(fill)
	case FormatThrift:
		b := make([]byte, fill.BLength())
		return b[:fill.FastWrite(b)], nil
	}
	return nil, fmt.Errorf("%w: unknown format %d", ErrInvalidConfig, f)
}

// fastRead is the generated Kitex decoder, which panics on some malformed input (an
// unknown field type makes gopkg's skip index out of range): a poison record must be
// an error, never a crash.
func fastRead(fill *ct.Fill, b []byte) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = 0, fmt.Errorf("undecodable Thrift (decoder panicked: %v)", r)
		}
	}()
	return fill.FastRead(b)
}
