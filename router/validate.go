package router

import (
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// Edge validation of the queries (commands and fills use rpc/convert's validators, the
// same the node runs). Every refusal names the field.

func invalidField(field, problem string) error {
	return &convert.FieldError{Field: field, Problem: problem}
}

func positiveID(field string, v int64) error {
	if v <= 0 {
		return invalidField(field, "must be an account ID > 0, got "+itoa(v))
	}
	return nil
}

func optID(field string, v int64) error {
	if v < 0 {
		return invalidField(field, "must be 0 or an account ID > 0, got "+itoa(v))
	}
	return nil
}

func limitRange(field string, v int32, maxV int) error {
	if v < 0 || int(v) > maxV {
		return invalidField(field, "must be in 0.."+itoa(int64(maxV))+", got "+itoa(int64(v)))
	}
	return nil
}

func validateListFollowers(req *ct.ListFollowersRequest) error {
	if req == nil {
		return invalidField("req", "is required")
	}
	if err := positiveID("trader", req.Trader); err != nil {
		return err
	}
	if err := optID("after_copier", req.AfterCopier); err != nil {
		return err
	}
	return limitRange("limit", req.Limit, convert.MaxPageSize)
}

func validateListOrders(req *ct.ListOrdersRequest) error {
	if req == nil {
		return invalidField("req", "is required")
	}
	if err := optID("trader", req.Trader); err != nil {
		return err
	}
	if err := optID("copier", req.Copier); err != nil {
		return err
	}
	if req.TradeId < 0 {
		return invalidField("trade_id", "must be >= 0, got "+itoa(req.TradeId))
	}
	if req.TradeId > 0 && req.Trader == 0 {
		return invalidField("trader", "is required with trade_id")
	}
	if req.TradeId == 0 && req.Copier == 0 && !req.QuarantinedOnly {
		return invalidField("copier", "is required without trade_id")
	}
	return limitRange("limit", req.Limit, convert.MaxOrdersPage)
}

func validateListSettlements(req *ct.ListSettlementsRequest) error {
	if req == nil {
		return invalidField("req", "is required")
	}
	if err := optID("trader", req.Trader); err != nil {
		return err
	}
	if req.Period < 0 {
		return invalidField("period", "must be >= 0, got "+itoa(req.Period))
	}
	return nil
}

func itoa(v int64) string {
	if v == 0 {
		return "0"
	}
	neg := v < 0
	var b [20]byte
	i := len(b)
	u := uint64(v)
	if neg {
		u = -u
	}
	for u > 0 {
		i--
		b[i] = byte('0' + u%10)
		u /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
