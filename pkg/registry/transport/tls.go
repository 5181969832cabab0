package transport

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ctl-dev/ctl/pkg/bounded"
)

// tlsConfig is the TLS configuration for host (HOST[:PORT]): the system
// roots, plus caFiles, plus docker's certs.d rules for every root in
// certsDirs: in ROOT/HOST[:PORT]/, *.crt files are CA certificates, and each
// NAME.cert with its NAME.key is a client certificate; a .cert without its
// .key (or the reverse) is an error.
//
// Without extra CAs, RootCAs stays nil: Go then verifies against the system
// roots itself (honouring SSL_CERT_FILE and SSL_CERT_DIR), loading them only
// when a certificate is actually verified. Loading them here, for every
// https transport, cost ~50 ms per command even against a plain-HTTP
// registry on localhost, where go-containerregistry's https ping attempt
// fails before any certificate is seen.
func tlsConfig(host string, caFiles, certsDirs []string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	cas := append([]string(nil), caFiles...)
	for _, root := range certsDirs {
		if root == "" {
			continue
		}
		dirCAs, err := readCertsDir(cfg, filepath.Join(root, certsDirName(host)))
		if err != nil {
			return nil, err
		}
		cas = append(cas, dirCAs...)
	}
	if len(cas) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if _, err := loadCAFiles(pool, cas); err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// certsDirName is the certs.d directory name for host: HOST[:PORT] as
// written, lower case; docker uses the registry's host as the user gives it.
func certsDirName(host string) string {
	return strings.ToLower(host)
}

// loadCAFiles adds the PEM certificates of files to pool (a new pool when
// nil); a file that cannot be read or holds no certificate is an error.
func loadCAFiles(pool *x509.CertPool, files []string) (*x509.CertPool, error) {
	if pool == nil {
		pool = x509.NewCertPool()
	}
	for _, f := range files {
		pem, err := bounded.ReadFile(f, maxPEMFile)
		if err != nil {
			return nil, fmt.Errorf("reading CA file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", f)
		}
	}
	return pool, nil
}

// maxPEMFile caps what is read of a CA, certificate or key file: a bundle
// of every public CA is about 200 KiB.
const maxPEMFile = 16 << 20

// loadKeyPair is tls.LoadX509KeyPair reading both files through
// bounded.ReadFile.
func loadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	cert, err := bounded.ReadFile(certFile, maxPEMFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	key, err := bounded.ReadFile(keyFile, maxPEMFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(cert, key)
}

// readCertsDir applies one certs.d/HOST directory to cfg, as docker's
// registry.ReadCertsDirectory does: client certificates go into cfg, and
// the paths of the CA certificates (*.crt) are returned for the caller to
// add to the roots. A missing directory is not an error.
func readCertsDir(cfg *tls.Config, dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading certificates directory: %w", err)
	}
	has := map[string]bool{}
	for _, e := range entries {
		has[e.Name()] = true
	}
	var cas []string
	for _, e := range entries {
		n := e.Name()
		switch {
		case strings.HasSuffix(n, ".crt"):
			cas = append(cas, filepath.Join(dir, n))
		case strings.HasSuffix(n, ".cert"):
			key := strings.TrimSuffix(n, ".cert") + ".key"
			if !has[key] {
				return nil, fmt.Errorf("missing key %s for client certificate %s in %s (CA certificates must use the extension .crt)", key, n, dir)
			}
			pair, err := loadKeyPair(filepath.Join(dir, n), filepath.Join(dir, key))
			if err != nil {
				return nil, fmt.Errorf("loading client certificate %s: %w", filepath.Join(dir, n), err)
			}
			cfg.Certificates = append(cfg.Certificates, pair)
		case strings.HasSuffix(n, ".key"):
			cert := strings.TrimSuffix(n, ".key") + ".cert"
			if !has[cert] {
				return nil, fmt.Errorf("missing client certificate %s for key %s in %s", cert, n, dir)
			}
		}
	}
	return cas, nil
}
