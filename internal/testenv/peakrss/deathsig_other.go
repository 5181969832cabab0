//go:build unix && !linux

package main

import "syscall"

func deathSig() *syscall.SysProcAttr { return nil }
