package exchsim

import "errors"

// Sentinel errors of the package. Functions wrap them with detail; test with errors.Is.
// The Kitex handler maps each to a stable business status code (see Code*).
var (
	// ErrInvalidConfig: Config.Validate or ActivityConfig.Validate refused a field.
	ErrInvalidConfig = errors.New("exchsim: invalid config")
	// ErrInvalidArgument: a request is malformed (empty batch, bad decimal, empty ID).
	ErrInvalidArgument = errors.New("exchsim: invalid argument")
	// ErrBatchTooLarge: a request carries more entries than Config.MaxBatch.
	ErrBatchTooLarge = errors.New("exchsim: batch too large")
	// ErrUnknownAccount: the account does not exist (and was not auto-created).
	ErrUnknownAccount = errors.New("exchsim: unknown account")
	// ErrUnknownInstrument: the instrument is not listed.
	ErrUnknownInstrument = errors.New("exchsim: unknown instrument")
	// ErrAccountConflict: CreateAccount asked for another position mode while the
	// account holds positions (a venue refuses a mode switch with open positions).
	ErrAccountConflict = errors.New("exchsim: account exists with open positions in another position mode")
	// ErrOrderRejected: PlaceLeadOrder's order was rejected, so there is no fill.
	ErrOrderRejected = errors.New("exchsim: order rejected")
	// ErrNoPosition: LiquidateLead found no position to liquidate.
	ErrNoPosition = errors.New("exchsim: no position")
)
