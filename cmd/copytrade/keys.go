package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/copytrade/copytrade/rpc/auth"
)

// errNoKeys: a serving command was given neither a key file nor -insecure (a usage error).
var errNoKeys = errors.New("-keys is required (or -insecure for development)")

// newLogger is the text logger on w at the level a -log-level flag names; the LevelVar
// lets a command change the level later.
func newLogger(level string, w io.Writer) (*slog.Logger, *slog.LevelVar, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, nil, fmt.Errorf("--log-level: %w", err)
	}
	lv := new(slog.LevelVar)
	lv.Set(l)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lv})), lv, nil
}

// loadGuard builds the token guard of a serving command from its key file. With no key
// file it returns errNoKeys, unless insecure: then no guard (nil) and a warning.
func loadGuard(keyFile string, insecure bool, limits map[string]auth.Limit, log *slog.Logger) (*auth.Guard, *auth.KeySet, error) {
	if keyFile == "" {
		if !insecure {
			return nil, nil, errNoKeys
		}
		log.Warn("serving without authentication (-insecure)")
		return nil, nil, nil
	}
	ks, err := auth.LoadKeys(keyFile)
	if err != nil {
		return nil, nil, err
	}
	guard, err := auth.NewGuard(auth.Config{Keys: ks, Limits: limits, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	return guard, ks, nil
}

// reloadKeys swaps a guard's keys for the key file's current contents (SIGHUP). A file
// that does not load leaves the keys in force.
func reloadKeys(guard *auth.Guard, keyFile string, log *slog.Logger) {
	if guard == nil {
		return
	}
	ks, err := auth.LoadKeys(keyFile)
	if err != nil {
		log.Error("key file reload refused; the previous keys stay in force", "err", err)
		return
	}
	guard.SetKeys(ks)
	log.Info("keys reloaded", "keys", ks.IDs())
}
