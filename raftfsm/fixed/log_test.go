package fixed

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestDecLogsAsDecimal: a Dec in a JSON log record is its decimal text, not its units.
func TestDecLogsAsDecimal(t *testing.T) {
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("mark", "price", MustParse("60000.5"))
	if !strings.Contains(buf.String(), `"price":"60000.5"`) {
		t.Fatalf("got %s", buf.String())
	}
}
