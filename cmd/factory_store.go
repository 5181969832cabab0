package cmd

import "github.com/ctl-dev/ctl/pkg/store"

// Store opens the local image store: --store, else $CTL_STORE, else
// $XDG_DATA_HOME/ctl, else ~/.local/share/ctl.
func (f *Factory) Store() (*store.Store, error) {
	dir, err := f.storeDir()
	if err != nil {
		return nil, err
	}
	return store.Open(dir)
}

// ExistingStore is Store for commands that only look in it: a store not
// made yet is an error matching fs.ErrNotExist, and is not created.
func (f *Factory) ExistingStore() (*store.Store, error) {
	dir, err := f.storeDir()
	if err != nil {
		return nil, err
	}
	return store.OpenExisting(dir)
}

// ReadStore is Store for commands that only read it (images, image
// inspect, save) or act on images it must hold already (rmi, tag, push):
// where no store is made yet nothing is created, no store and no lock
// file, and it reads as empty, so that those report "no such image" and a
// mistyped --store leaves no store behind.
func (f *Factory) ReadStore() (*store.Store, error) {
	dir, err := f.storeDir()
	if err != nil {
		return nil, err
	}
	return store.OpenToRead(dir)
}

// storeDir is the local store's directory.
func (f *Factory) storeDir() (string, error) {
	if f.Opts.Store != "" {
		return f.Opts.Store, nil
	}
	return store.DefaultDir()
}
