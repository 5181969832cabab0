//go:build !unix

package cmd

import "os"

// notifyResize does nothing where there is no SIGWINCH: the width is asked
// again at every redraw anyway.
func notifyResize(chan<- os.Signal) (stop func()) { return func() {} }
