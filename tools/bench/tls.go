package bench

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/cloudwego/kitex/client"

	"github.com/copytrade/copytrade/rpc/kitexopt"
	"github.com/copytrade/copytrade/rpc/tlsconf"
	"github.com/copytrade/copytrade/rpc/tlsconf/tlstest"
)

// Mutual TLS for a started cluster (Config.TLS): a throwaway CA made for the run, a
// certificate per process written under <dir>/tls, and the --tls-* flags that name
// them. The bench's own clients present a certificate of role "client" (calls keep
// their tokens).

// tlsFiles writes a certificate naming id and returns the flags for it.
func (c *Cluster) tlsFiles(name string, id tlsconf.Identity) ([]string, error) {
	if c.CA == nil {
		return nil, nil
	}
	dir := filepath.Join(c.Dir, "tls")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("bench: tls dir: %w", err)
	}
	f, err := c.CA.WriteFiles(dir, name, id)
	if err != nil {
		return nil, fmt.Errorf("bench: tls files: %w", err)
	}
	return []string{"--tls-ca", f.CA, "--tls-cert", f.Cert, "--tls-key", f.Key}, nil
}

// ClientTLS are the client options of a caller of the cluster named by id: mutual TLS
// when the cluster runs it, else none.
func (c *Cluster) ClientTLS(id tlsconf.Identity) []client.Option {
	if c.CA == nil {
		return nil
	}
	return kitexopt.TLSClient(c.CA.Store(id), nil)
}

// newCA makes the run's CA when cfg asks for TLS.
func newCA(cfg *Config) (*tlstest.CA, error) {
	if !cfg.TLS {
		return nil, nil
	}
	return tlstest.NewCA("copytrade-bench")
}

// benchClient is the certificate identity of the bench's own clients.
var benchClient = tlsconf.RoleIdentity("client", "bench")
