package testenv

// PullThrough makes a registry started by StartRegistry a pull-through
// cache of another registry: distribution's proxy mode ("proxy: remoteurl"
// in its config). Such a registry serves reads only; it fetches what it
// lacks from RemoteURL and keeps it, and answers a tag from its own copy
// when RemoteURL cannot be reached (a stale tag, when the remote moved).
type PullThrough struct {
	// RemoteURL is the registry cached, e.g. Registry.URL or a Proxy's URL.
	RemoteURL string
	// Username and Password are the cache's own credentials at RemoteURL
	// ("" for an open registry).
	Username, Password string
	// CAFile is a PEM CA the cache trusts for an https RemoteURL (set as
	// its SSL_CERT_FILE).
	CAFile string
}

// config is the registry config's "proxy" section.
func (p *PullThrough) config() map[string]any {
	c := map[string]any{"remoteurl": p.RemoteURL}
	if p.Username != "" {
		c["username"], c["password"] = p.Username, p.Password
	}
	return c
}

// env is what the registry process needs in its environment.
func (p *PullThrough) env() []string {
	if p == nil || p.CAFile == "" {
		return nil
	}
	return []string{"SSL_CERT_FILE=" + p.CAFile}
}
