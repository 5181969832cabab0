package registry

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// tlsConfig is the TLS configuration for host (HOST[:PORT]): the system
// pool (which honours SSL_CERT_FILE and SSL_CERT_DIR), plus caFiles, plus
// docker's certs.d rules for every root in certsDirs: in ROOT/HOST[:PORT]/,
// *.crt files are CA certificates, and each NAME.cert with its NAME.key is a
// client certificate; a .cert without its .key (or the reverse) is an error.
func tlsConfig(host string, caFiles, certsDirs []string) (*tls.Config, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if _, err := loadCAFiles(pool, caFiles); err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	for _, root := range certsDirs {
		if root == "" {
			continue
		}
		if err := readCertsDir(cfg, filepath.Join(root, certsDirName(host))); err != nil {
			return nil, err
		}
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
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading CA file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", f)
		}
	}
	return pool, nil
}

// readCertsDir applies one certs.d/HOST directory to cfg, as docker's
// registry.ReadCertsDirectory does. A missing directory is not an error.
func readCertsDir(cfg *tls.Config, dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading certificates directory: %w", err)
	}
	has := map[string]bool{}
	for _, e := range entries {
		has[e.Name()] = true
	}
	for _, e := range entries {
		n := e.Name()
		switch {
		case strings.HasSuffix(n, ".crt"):
			if _, err := loadCAFiles(cfg.RootCAs, []string{filepath.Join(dir, n)}); err != nil {
				return err
			}
		case strings.HasSuffix(n, ".cert"):
			key := strings.TrimSuffix(n, ".cert") + ".key"
			if !has[key] {
				return fmt.Errorf("missing key %s for client certificate %s in %s (CA certificates must use the extension .crt)", key, n, dir)
			}
			pair, err := tls.LoadX509KeyPair(filepath.Join(dir, n), filepath.Join(dir, key))
			if err != nil {
				return fmt.Errorf("loading client certificate %s: %w", filepath.Join(dir, n), err)
			}
			cfg.Certificates = append(cfg.Certificates, pair)
		case strings.HasSuffix(n, ".key"):
			cert := strings.TrimSuffix(n, ".key") + ".cert"
			if !has[cert] {
				return fmt.Errorf("missing client certificate %s for key %s in %s", cert, n, dir)
			}
		}
	}
	return nil
}
