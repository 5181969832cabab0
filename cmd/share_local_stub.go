package cmd

import "errors"

// localImages opens the local store for push and pull. The store lands on
// main separately; until then push and pull report it missing.
func (f *Factory) localImages() (localImages, error) {
	return nil, errors.New("the local store is not available in this build")
}
