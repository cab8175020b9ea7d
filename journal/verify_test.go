package journal

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestCheckPassesASoundStoreAndChangesNothing(t *testing.T) {
	fx := writeJournal(t, t.TempDir(), 200, nil)
	before, err := os.ReadFile(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(fx.path); err != nil {
		t.Fatalf("Check of a sound store: %v", err)
	}
	after, err := os.ReadFile(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Fatal("Check changed the file")
	}
}

func TestCheckFindsADamagedLeafPage(t *testing.T) {
	fx := writeJournal(t, t.TempDir(), 200, nil)
	ps, id := outboxLeaf(t, fx.path)
	// A leaf whose element count runs past its page.
	patch(t, fx.path, int64(id)*int64(ps)+10, []byte{0xff, 0xff})
	if err := Check(fx.path); !errors.Is(err, ErrDamaged) {
		t.Fatalf("Check = %v, want ErrDamaged", err)
	}
}

func TestCheckOfAMissingStoreIsDamageOnlyBesideItsSeqFile(t *testing.T) {
	dir := t.TempDir()
	if err := Check(filepath.Join(dir, "new.db")); err != nil {
		t.Fatalf("Check of a new pod's missing store = %v, want nil", err)
	}
	fx := writeJournal(t, dir, 10, nil)
	if err := os.Remove(fx.path); err != nil {
		t.Fatal(err)
	}
	if err := Check(fx.path); !errors.Is(err, ErrDamaged) {
		t.Fatalf("Check of a lost store beside its seq file = %v, want ErrDamaged", err)
	}
}

func TestCheckRefusesAStoreAnotherProcessHolds(t *testing.T) {
	fx := writeJournal(t, t.TempDir(), 10, nil)
	s, err := Open(fx.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := Check(fx.path); !errors.Is(err, ErrInUse) {
		t.Fatalf("Check of an open store = %v, want ErrInUse", err)
	}
}
