package fixed

import "log/slog"

// LogValue logs a Dec as its decimal text ("60000.5"), in text and JSON logs alike: a
// JSON handler would otherwise print the raw units (6000050000000).
func (d Dec) LogValue() slog.Value { return slog.StringValue(d.String()) }
