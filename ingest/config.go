package ingest

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// Format is the encoding of a fill record's value (fill v2: the Kitex ct.Fill struct).
type Format int

const (
	// FormatJSON: the Fill struct as JSON with its Thrift field names ("trader",
	// "trade_id", ...), decoded with sonic. Unknown fields are ignored, so a producer
	// may run ahead of this build.
	FormatJSON Format = iota + 1
	// FormatThrift: the Fill struct in Thrift binary protocol (no message envelope).
	FormatThrift
)

// ParseFormat reads "json" or "thrift".
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "json":
		return FormatJSON, nil
	case "thrift":
		return FormatThrift, nil
	}
	return 0, fmt.Errorf("%w: format must be json or thrift, got %q", ErrInvalidConfig, s)
}

func (f Format) String() string {
	switch f {
	case FormatJSON:
		return "json"
	case FormatThrift:
		return "thrift"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Config configures an Ingest. Start from DefaultConfig.
type Config struct {
	// Brokers are the Kafka bootstrap addresses (host:port). Required.
	Brokers []string
	// Topics are the fill topics consumed. Required. A trader's fills must all go to
	// one partition (the trading system keys them by trader): order is kept per
	// partition.
	Topics []string
	// Group is the Kafka consumer group; every replica of ingest uses the same one and
	// Kafka spreads the partitions over them.
	Group string
	// Format is the records' encoding.
	Format Format
	// DeadLetterTopic receives every malformed record (value and key unchanged, headers
	// naming the source topic, partition, offset and the error). Required.
	DeadLetterTopic string

	// MaxBatch bounds the fills of one forwarded batch (1..1000, the router's limit).
	MaxBatch int
	// MaxBuffered is how many records a partition may hold (decoded, not yet done)
	// before its fetching is paused; fetching resumes below half of it.
	MaxBuffered int
	// MaxInFlight bounds the batches in flight over all partitions.
	MaxInFlight int
	// Wait is what a forwarded batch waits for: COMMIT (applied, orders planned) or
	// ACKED (and every copier order answered by the venue).
	Wait ct.WaitFor
	// ForwardTimeout bounds one forwarded batch (the router retries inside it).
	ForwardTimeout time.Duration
	// RetryBackoffMax caps the wait between attempts of a batch that made no progress
	// (a group down, no leader): the partition waits, it never skips.
	RetryBackoffMax time.Duration

	// RefreshInterval is how often the lead-trader set is relearned from every group
	// when nothing asks sooner.
	RefreshInterval time.Duration
	// MinRefreshGap is the shortest time between two refreshes asked for by records
	// newer than the set (see DESIGN.md, "No false negatives").
	MinRefreshGap time.Duration
	// ClockSkew is how far a record's timestamp may be ahead of this process's clock.
	// A fill of a trader missing from the set is dropped only when the set was learned
	// after the record's timestamp plus ClockSkew.
	ClockSkew time.Duration
	// MaxLeadTraders bounds the set's memory: up to this many traders it is exact
	// (8 bytes each); beyond, a Bloom filter of the same size (no false negatives; a
	// false positive is forwarded and refused by the leader before Raft).
	MaxLeadTraders int

	// CommitInterval is how often marked offsets are committed (and on every revoke).
	CommitInterval time.Duration
	// RevokeGrace is how long a revoked partition's in-flight batch may finish before
	// it is cancelled (its fills are then replayed by the new owner and deduplicated).
	RevokeGrace time.Duration

	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
}

// DefaultConfig is a configuration for a LAN deployment; set Brokers and Topics.
func DefaultConfig() Config {
	return Config{
		Group:           "copytrade-ingest",
		Format:          FormatJSON,
		DeadLetterTopic: "copytrade.fills.dlq",
		MaxBatch:        500,
		MaxBuffered:     20000,
		MaxInFlight:     32,
		Wait:            ct.WaitFor_COMMIT,
		ForwardTimeout:  5 * time.Second,
		RetryBackoffMax: time.Second,
		RefreshInterval: time.Second,
		MinRefreshGap:   20 * time.Millisecond,
		ClockSkew:       50 * time.Millisecond,
		MaxLeadTraders:  1 << 20,
		CommitInterval:  200 * time.Millisecond,
		RevokeGrace:     2 * time.Second,
	}
}

// Validate returns nil or an error listing every problem as a plain sentence.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	if len(c.Brokers) == 0 {
		bad("Brokers must name at least one host:port.")
	}
	if len(c.Topics) == 0 {
		bad("Topics must name at least one fill topic.")
	}
	for _, t := range c.Topics {
		if t == "" || t == c.DeadLetterTopic {
			bad("Topics must be non-empty and differ from DeadLetterTopic, got %q.", t)
		}
	}
	if c.Group == "" {
		bad("Group must be set.")
	}
	if c.DeadLetterTopic == "" {
		bad("DeadLetterTopic must be set: a malformed record goes there, never nowhere.")
	}
	if c.Format != FormatJSON && c.Format != FormatThrift {
		bad("Format must be json or thrift.")
	}
	if c.MaxBatch < 1 || c.MaxBatch > 1000 {
		bad("MaxBatch must be in 1..1000, got %d.", c.MaxBatch)
	}
	if c.MaxBuffered < 2 {
		bad("MaxBuffered must be >= 2, got %d.", c.MaxBuffered)
	}
	if c.MaxInFlight < 1 {
		bad("MaxInFlight must be >= 1, got %d.", c.MaxInFlight)
	}
	if c.Wait != ct.WaitFor_COMMIT && c.Wait != ct.WaitFor_ACKED {
		bad("Wait must be COMMIT or ACKED.")
	}
	if c.ForwardTimeout <= 0 || c.RetryBackoffMax <= 0 {
		bad("ForwardTimeout and RetryBackoffMax must be > 0.")
	}
	if c.RefreshInterval <= 0 || c.MinRefreshGap < 0 || c.ClockSkew < 0 {
		bad("RefreshInterval must be > 0, MinRefreshGap and ClockSkew >= 0.")
	}
	if c.MaxLeadTraders < 1 {
		bad("MaxLeadTraders must be >= 1, got %d.", c.MaxLeadTraders)
	}
	if c.CommitInterval < 100*time.Millisecond || c.RevokeGrace < 0 {
		bad("CommitInterval must be >= 100ms (franz-go's floor) and RevokeGrace >= 0.")
	}
	return errors.Join(errs...)
}

// Errors of package ingest.
var (
	// ErrInvalidConfig: a Config field is out of range (the message names it).
	ErrInvalidConfig = errors.New("ingest: invalid config")
	// ErrMalformed: a record could not be decoded into a valid fill.
	ErrMalformed = errors.New("ingest: malformed record")
	// ErrClosed: the Ingest was closed.
	ErrClosed = errors.New("ingest: closed")
)
