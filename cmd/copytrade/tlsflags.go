package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"

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
// identity). The returned function loads them after fs.Parse: nil when TLS to Kafka
// is off.
func kafkaTLSFlags(fs *flag.FlagSet) func() (*kafkaTLS, error) {
	on := fs.Bool("kafka-tls", false, "dial the Kafka brokers over TLS (implied by any --kafka-tls-* file)")
	k := &kafkaTLS{}
	fs.StringVar(&k.ca, "kafka-tls-ca", "", "PEM CA bundle the brokers' certificates chain to (default: the system roots; reloaded on SIGHUP)")
	fs.StringVar(&k.cert, "kafka-tls-cert", "", "PEM client certificate for brokers that require mutual TLS (reloaded on SIGHUP)")
	fs.StringVar(&k.key, "kafka-tls-key", "", "PEM private key of --kafka-tls-cert")
	return func() (*kafkaTLS, error) {
		if !*on && k.ca == "" && k.cert == "" && k.key == "" {
			return nil, nil
		}
		if (k.cert == "") != (k.key == "") {
			return nil, errors.New("--kafka-tls-cert and --kafka-tls-key go together")
		}
		if err := k.Reload(); err != nil {
			return nil, err
		}
		return k, nil
	}
}

// kafkaTLS is the TLS material for the Kafka brokers, swapped whole by Reload: a new
// connection uses the CA and client certificate in force when it is dialled.
type kafkaTLS struct {
	ca, cert, key string
	cur           atomic.Pointer[kafkaMaterial]
}

type kafkaMaterial struct {
	roots *x509.CertPool   // nil: the system roots
	cert  *tls.Certificate // nil: no client certificate
}

// Reload reads the files again; on an error the material in force stays.
func (k *kafkaTLS) Reload() error {
	var m kafkaMaterial
	if k.ca != "" {
		pem, err := os.ReadFile(k.ca)
		if err != nil {
			return fmt.Errorf("--kafka-tls-ca: %w", err)
		}
		m.roots = x509.NewCertPool()
		if !m.roots.AppendCertsFromPEM(pem) {
			return fmt.Errorf("--kafka-tls-ca: %s holds no PEM certificate", k.ca)
		}
	}
	if k.cert != "" {
		c, err := tls.LoadX509KeyPair(k.cert, k.key)
		if err != nil {
			return fmt.Errorf("--kafka-tls-cert/--kafka-tls-key: %w", err)
		}
		m.cert = &c
	}
	k.cur.Store(&m)
	return nil
}

// Config is the client configuration for the brokers. Chain and host name are
// verified in VerifyConnection against the CA in force (crypto/tls's own check reads
// RootCAs once per Config, which would pin the CA of the start).
func (k *kafkaTLS) Config() *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // verified below, against the current CA
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("kafka TLS: the broker sent no certificate")
			}
			opts := x509.VerifyOptions{Roots: k.cur.Load().roots, DNSName: cs.ServerName, Intermediates: x509.NewCertPool()}
			for _, c := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(c)
			}
			if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
				return fmt.Errorf("kafka TLS: broker certificate: %w", err)
			}
			return nil
		},
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if c := k.cur.Load().cert; c != nil {
				return c, nil
			}
			return &tls.Certificate{}, nil // none: the broker decides
		},
	}
}

// reloadKafkaTLS re-reads the Kafka TLS files (SIGHUP).
func reloadKafkaTLS(k *kafkaTLS, log *slog.Logger) {
	if k == nil {
		return
	}
	if err := k.Reload(); err != nil {
		log.Error("Kafka TLS reload refused; the previous CA and client certificate stay in force", "err", err)
		return
	}
	log.Info("Kafka TLS CA and client certificate reloaded")
}
