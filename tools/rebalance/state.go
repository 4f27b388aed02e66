package rebalance

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/bytedance/sonic"
	"github.com/google/renameio/v2"
)

const numSlots = 16384

// stateVersion is the state file's format version.
const stateVersion = 1

// state is the state file: what the tool knows has been done. It is written after a
// step is confirmed, so it may be behind the groups (a crash between a step and its
// record), never ahead; on restart the groups' ownership corrects it.
type state struct {
	Version   int     `json:"version"`
	Migration int64   `json:"migration"`
	Epoch     int64   `json:"epoch"`
	Attempt   int     `json:"attempt"`
	From      uint32  `json:"from"`
	To        uint32  `json:"to"`
	Slots     []int32 `json:"slots"`
	Step      Step    `json:"step"`
	// Reason is why the migration is being aborted.
	Reason string `json:"reason,omitempty"`
	// The export this tool last saw (its data is not kept: a re-export returns the
	// same bytes while the slots stay frozen).
	ExportIndex int64     `json:"export_index,omitempty"`
	ExportBytes int       `json:"export_bytes,omitempty"`
	Checksum    uint64    `json:"checksum,omitempty"`
	Updated     time.Time `json:"updated"`
}

// loadState reads path; (nil, nil) when it does not exist.
func loadState(path string) (*state, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state file: %w", err)
	}
	var s state
	if err := sonic.ConfigStd.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("state file %s: version %d, this build reads %d", path, s.Version, stateVersion)
	}
	return &s, nil
}

// saveState writes s to path atomically: a temp file in the same directory, fsynced,
// renamed over path, and the directory fsynced so the rename survives a crash.
func saveState(path string, s *state) error {
	if path == "" {
		return nil
	}
	s.Version = stateVersion
	s.Updated = time.Now().UTC()
	b, err := sonic.ConfigStd.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	dir := filepath.Dir(path)
	if err := renameio.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("state file %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: not every filesystem syncs directories
		_ = d.Close()
	}
	return nil
}

// samePlan reports whether s records the migration of (slots, from, to).
func (s *state) samePlan(p *Plan) bool {
	return s.From == p.From && s.To == p.To && slices.Equal(s.Slots, p.Slots)
}

// DeriveID is the migration ID of moving slots from one group to another at epoch,
// attempt 0, 1, ... (a new attempt after an abort: an aborted ID is refused by the
// target forever). SHA-256 over a fixed encoding, 62 bits, never 0: a restarted tool
// computes the same ID from the same inputs.
func DeriveID(slots []int32, from, to uint32, epoch int64, attempt int) int64 {
	h := sha256.New()
	var b [8]byte
	h.Write([]byte("copytrade/rebalance/v1"))
	for _, v := range []uint64{uint64(from), uint64(to), uint64(epoch), uint64(attempt), uint64(len(slots))} {
		binary.BigEndian.PutUint64(b[:], v)
		h.Write(b[:])
	}
	for _, s := range slots {
		binary.BigEndian.PutUint16(b[:2], uint16(s))
		h.Write(b[:2])
	}
	id := int64(binary.BigEndian.Uint64(h.Sum(nil)[:8]) >> 2)
	if id == 0 {
		id = 1
	}
	return id
}

// DefaultStateFile is the state file name used when none is given: in the current
// directory, named by the plan so two moves do not share one.
func DefaultStateFile(slots []int32, from, to uint32) string {
	return fmt.Sprintf("rebalance-%d-to-%d-%012x.json", from, to, DeriveID(slots, from, to, 0, 0)&0xffffffffffff)
}
