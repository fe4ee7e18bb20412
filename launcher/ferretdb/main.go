// Command ferretdb runs FerretDB v1 (MongoDB wire protocol) for the local shopmesh platform.
//
// It embeds github.com/FerretDB/FerretDB/ferretdb instead of building cmd/ferretdb, whose
// version file is not part of the Go module and makes a plain `go install` panic at start.
package main

import (
	"context"
	"flag"
	"log"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:37017", "TCP address of the MongoDB wire protocol listener")
	handler := flag.String("handler", "postgresql", "backend: postgresql or sqlite")
	postgresURL := flag.String("postgresql-url", "", "PostgreSQL connection URL (postgresql handler)")
	sqliteURL := flag.String("sqlite-url", "", "SQLite directory URI such as file:data/ (sqlite handler)")
	flag.Parse()

	db, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: *listen},
		Handler:       *handler,
		PostgreSQLURL: *postgresURL,
		SQLiteURL:     *sqliteURL,
	})
	if err != nil {
		log.Fatalf("ferretdb: %v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	log.Printf("ferretdb listening on %s (%s backend)", *listen, *handler)
	db.Run(ctx)
	log.Printf("ferretdb stopped")
}
