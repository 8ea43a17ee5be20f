package sqlite_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/sqlite"
	"github.com/ginflix/ginflix/storetest"
)

func open(t *testing.T, now func() time.Time) ginflix.Store {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "ginflix.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.Now = now
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }
