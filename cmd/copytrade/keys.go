package main

import (
	"log/slog"

	"github.com/copytrade/copytrade/rpc/auth"
)

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
