package main

import (
	"flag"
	"log/slog"

	"github.com/copytrade/copytrade/rpc/tlsconf"
)

// tlsFlags registers --tls-ca, --tls-cert and --tls-key on fs. The returned function
// loads them after fs.Parse: nil without any of them.
func tlsFlags(fs *flag.FlagSet) func() (*tlsconf.Store, error) {
	var f tlsconf.Files
	fs.StringVar(&f.CA, "tls-ca", "", "PEM CA bundle of the deployment: peers' certificates must chain to it (mutual TLS; reloaded on SIGHUP)")
	fs.StringVar(&f.Cert, "tls-cert", "", "PEM certificate (chain) of this process, naming it (copytrade://node/<group>/<id> or copytrade://role/<role>/<name>)")
	fs.StringVar(&f.Key, "tls-key", "", "PEM private key of --tls-cert (mode 0600)")
	return func() (*tlsconf.Store, error) {
		if !f.Set() {
			return nil, nil
		}
		return tlsconf.Load(f)
	}
}

// reloadTLS re-reads the TLS files (SIGHUP); files that do not load leave the
// certificate and CA in force.
func reloadTLS(s *tlsconf.Store, log *slog.Logger) {
	if s == nil {
		return
	}
	if err := s.Reload(); err != nil {
		log.Error("TLS reload refused; the previous certificate and CA stay in force", "err", err)
		return
	}
	log.Info("TLS certificate and CA reloaded", "identity", s.Identity().String())
}
