// Package transfer moves images between the local store and registries:
// Push sends local images, Pull brings images into the store, PushSemver
// pushes a version and writes its moving tags. It joins package store and
// package registry, which know nothing of each other, and keeps the store's
// record of what each tag's digest is on its registry up to date. Like
// every package under pkg/, it never prints: progress and results reach
// the caller through the callbacks of its options.
package transfer
