package vecstore_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"vecstore.dev/go/vecstore"
)

func Example() {
	tmp, _ := os.MkdirTemp("", "vecstore-example")
	defer os.RemoveAll(tmp)

	db, err := vecstore.Open(filepath.Join(tmp, "db"), 4, nil) // FSYNC durability
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.Put(42, []float32{0.1, 0.2, 0.3, 0.4}); err != nil {
		log.Fatal(err)
	}
	g, err := db.GetRef(42) // zero-copy: g.Data() points into the mapped file
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(g.Data()[0])
	g.Release()
	hits, _ := db.Search([]float32{0.1, 0.2, 0.3, 0.4}, 1, vecstore.MetricL2)
	fmt.Println(hits[0].ID, hits[0].Distance)
	_, err = db.Get(7)
	fmt.Println(errors.Is(err, vecstore.ErrNotFound))
	// Output:
	// 0.1
	// 42 0
	// true
}
