// Command refregistry serves go-containerregistry's in-memory registry with
// the OCI referrers API turned on, for ctl's tests: distribution v3 (the
// harness's main registry) has no referrers API, and crane's `registry
// serve` does not enable it. It listens on 127.0.0.1:0 (or -addr), prints
// "listening on 127.0.0.1:PORT" once it accepts connections, logs every
// request to stderr and runs until killed.
//
// What this registry does (go-containerregistry v0.22.1), which tests rely
// on: GET /v2/NAME/referrers/DIGEST lists the manifests whose `subject` is
// DIGEST, with each descriptor's artifactType taken from the config's
// media type (not from the manifest's artifactType field); it ignores the
// artifactType query (no OCI-Filters-Applied header), sends no Link
// pagination, and answers 404 NAME_UNKNOWN for a repository it has never
// seen. A manifest PUT with a subject gets no OCI-Subject header, so a
// client learns that the API exists only by asking it.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "listening on %s\n", l.Addr())
	srv := &http.Server{
		Handler:           registry.New(registry.WithReferrersSupport(true)),
		ReadHeaderTimeout: 30 * time.Second,
	}
	log.Fatal(srv.Serve(l))
}
