package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"

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

// kafkaTLSFlags registers --kafka-tls, --kafka-tls-ca, --kafka-tls-cert and
// --kafka-tls-key: TLS to the Kafka brokers, which answer with the exchange's own
// certificates (standard X.509: the broker's host name is verified, no copytrade
// identity). The returned function builds the config after fs.Parse: nil when TLS to
// Kafka is off.
func kafkaTLSFlags(fs *flag.FlagSet) func() (*tls.Config, error) {
	on := fs.Bool("kafka-tls", false, "dial the Kafka brokers over TLS (implied by any --kafka-tls-* file)")
	ca := fs.String("kafka-tls-ca", "", "PEM CA bundle the brokers' certificates chain to (default: the system roots)")
	cert := fs.String("kafka-tls-cert", "", "PEM client certificate for brokers that require mutual TLS")
	key := fs.String("kafka-tls-key", "", "PEM private key of --kafka-tls-cert")
	return func() (*tls.Config, error) {
		if !*on && *ca == "" && *cert == "" && *key == "" {
			return nil, nil
		}
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if *ca != "" {
			pem, err := os.ReadFile(*ca)
			if err != nil {
				return nil, fmt.Errorf("--kafka-tls-ca: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--kafka-tls-ca: %s holds no PEM certificate", *ca)
			}
		}
		if (*cert == "") != (*key == "") {
			return nil, errors.New("--kafka-tls-cert and --kafka-tls-key go together")
		}
		if *cert != "" {
			c, err := tls.LoadX509KeyPair(*cert, *key)
			if err != nil {
				return nil, fmt.Errorf("--kafka-tls-cert/--kafka-tls-key: %w", err)
			}
			tc.Certificates = []tls.Certificate{c}
		}
		return tc, nil
	}
}
