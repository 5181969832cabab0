package cmd

import "github.com/ctl-dev/ctl/pkg/store"

// Store opens the local image store: --store, else $CTL_STORE, else
// $XDG_DATA_HOME/ctl, else ~/.local/share/ctl.
func (f *Factory) Store() (*store.Store, error) {
	dir := f.Opts.Store
	if dir == "" {
		var err error
		if dir, err = store.DefaultDir(); err != nil {
			return nil, err
		}
	}
	return store.Open(dir)
}
