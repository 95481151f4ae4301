package vecstore

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func openTemp(t *testing.T, dim uint32, opts *Options) (*Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	s, err := Open(dir, dim, opts)
	if err != nil {
		t.Fatalf("Open(%q): %v", dir, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, dir
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func vec(seed float32, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = seed + float32(i)/8
	}
	return v
}

func TestHeaderConstants(t *testing.T) {
	for _, c := range headerConstants() {
		if c.header != c.goVal {
			t.Errorf("%s: header %d, Go %d", c.name, c.header, c.goVal)
		}
	}
	for s := range statusNames {
		if got, want := s.String(), cStatusName(s); got != want {
			t.Errorf("Status(%d).String() = %q, vecstore_status_str = %q", uint32(s), got, want)
		}
	}
	if len(statusNames) != 11 {
		t.Errorf("%d statuses in Go, 11 in the header", len(statusNames))
	}
	if VersionNumber() != HeaderVersionNumber {
		t.Errorf("library version %d (%s), header version %d", VersionNumber(), Version(), HeaderVersionNumber)
	}
	if parts := strings.Split(Version(), "."); len(parts) != 3 {
		t.Errorf("Version() = %q", Version())
	}
}

func TestRoundTrip(t *testing.T) {
	const dim = 4
	s, dir := openTemp(t, dim, nil)
	if s.Dimension() != dim || s.Len() != 0 {
		t.Fatalf("fresh store: dim %d len %d", s.Dimension(), s.Len())
	}
	a := []float32{0.1, 0.2, 0.3, 0.4}
	must(t, s.Put(42, a))
	got, err := s.Get(42)
	must(t, err)
	if !reflect.DeepEqual(got, a) {
		t.Fatalf("Get = %v, want %v", got, a)
	}
	if !s.Contains(42) || s.Contains(43) || s.Len() != 1 {
		t.Fatalf("Contains/Len wrong: %v %v %d", s.Contains(42), s.Contains(43), s.Len())
	}

	// Batch put, get, overwrite by a later duplicate.
	ids := []uint64{1, 2, 3, 1}
	rows := append(append(append(vec(1, dim), vec(2, dim)...), vec(3, dim)...), vec(9, dim)...)
	must(t, s.PutBatch(ids, rows))
	if s.Len() != 4 {
		t.Fatalf("Len after batch = %d", s.Len())
	}
	vs, found, err := s.GetBatch([]uint64{1, 2, 77, 3})
	must(t, err)
	if !reflect.DeepEqual(found, []bool{true, true, false, true}) {
		t.Fatalf("found = %v", found)
	}
	if !reflect.DeepEqual(vs[0:dim], vec(9, dim)) || !reflect.DeepEqual(vs[dim:2*dim], vec(2, dim)) ||
		!reflect.DeepEqual(vs[3*dim:], vec(3, dim)) {
		t.Fatalf("GetBatch rows = %v", vs)
	}
	dst := make([]float32, dim)
	must(t, s.GetInto(3, dst))
	if !reflect.DeepEqual(dst, vec(3, dim)) {
		t.Fatalf("GetInto = %v", dst)
	}
	must(t, s.PutBatch(nil, nil)) // an empty batch is fine

	// Search: closest to vec(2) is id 2, then id 3 (4 coordinates each 1 apart).
	res, err := s.Search(vec(2, dim), 3, MetricL2)
	must(t, err)
	if len(res) != 3 || res[0].ID != 2 || res[0].Distance != 0 || res[1].ID != 3 {
		t.Fatalf("Search L2 = %+v", res)
	}
	if res[1].Distance != 4 { // 4 coordinates each 1 apart
		t.Fatalf("L2 distance = %v, want 4", res[1].Distance)
	}
	all, err := s.Search(vec(2, dim), 100, MetricCosine)
	must(t, err)
	if len(all) != s.Len() {
		t.Fatalf("Search k=100 gave %d results for %d vectors", len(all), s.Len())
	}
	for i := 1; i < len(all); i++ {
		if all[i].Distance < all[i-1].Distance {
			t.Fatalf("results not sorted: %+v", all)
		}
	}
	dot, err := s.Search([]float32{1, 0, 0, 0}, 1, MetricDot)
	must(t, err)
	if len(dot) != 1 || dot[0].ID != 1 || dot[0].Distance != -9 {
		t.Fatalf("Search dot = %+v", dot)
	}
	none, err := s.Search(vec(2, dim), 0, MetricL2)
	must(t, err)
	if len(none) != 0 {
		t.Fatalf("k=0 gave %v", none)
	}

	batch, err := s.SearchBatch(append(vec(2, dim), vec(3, dim)...), 2, MetricL2)
	must(t, err)
	if len(batch) != 2 || batch[0][0].ID != 2 || batch[1][0].ID != 3 || len(batch[1]) != 2 {
		t.Fatalf("SearchBatch = %+v", batch)
	}

	// Cursor sees each live vector once.
	c, err := s.Cursor()
	must(t, err)
	seen := map[uint64][]float32{}
	for {
		id, data, err := c.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		seen[id] = append([]float32(nil), data...)
	}
	must(t, c.Close())
	if len(seen) != 4 || !reflect.DeepEqual(seen[42], a) || !reflect.DeepEqual(seen[1], vec(9, dim)) {
		t.Fatalf("cursor saw %v", seen)
	}

	// Deletes.
	must(t, s.Delete(42))
	n, err := s.DeleteBatch([]uint64{1, 2, 1000})
	must(t, err)
	if n != 2 || s.Len() != 1 || !s.Contains(3) {
		t.Fatalf("DeleteBatch deleted %d, len %d", n, s.Len())
	}

	// Maintenance.
	must(t, s.Reserve(1000))
	must(t, s.SetDurability(DurabilityNone))
	must(t, s.Put(5, vec(5, dim)))
	must(t, s.Flush())
	must(t, s.SetDurability(DurabilityFlush))
	must(t, s.Checkpoint())
	if _, err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stats()
	must(t, err)
	if st.Vectors != 2 || st.Dimension != dim || st.LiveBytes != 2*dim*4 || st.GuardsOutstanding != 0 {
		t.Fatalf("Stats = %+v", st)
	}

	// Reopen with dimension 0: everything is still there.
	must(t, s.Close())
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v", err)
	}
	r, err := Open(dir, 0, &Options{NoCreate: true, ReadOnly: true})
	must(t, err)
	defer r.Close()
	if r.Dimension() != dim || r.Len() != 2 {
		t.Fatalf("reopened: dim %d len %d", r.Dimension(), r.Len())
	}
	v5, err := r.Get(5)
	must(t, err)
	if !reflect.DeepEqual(v5, vec(5, dim)) {
		t.Fatalf("reopened Get(5) = %v", v5)
	}
}

func TestErrors(t *testing.T) {
	const dim = 3
	s, dir := openTemp(t, dim, &Options{Durability: DurabilityFlush})
	must(t, s.Put(1, vec(1, dim)))

	cases := []struct {
		name string
		err  error
		want error
		msg  string // a substring of the library's message
	}{
		{"get missing", func() error { _, err := s.Get(77); return err }(), ErrNotFound, "77"},
		{"getref missing", func() error { _, err := s.GetRef(78); return err }(), ErrNotFound, "78"},
		{"delete missing", s.Delete(79), ErrNotFound, "79"},
		{"put short", s.Put(2, []float32{1, 2}), ErrDimensionMismatch, "dimension"},
		{"put empty", s.Put(2, nil), ErrInvalidArgument, "dimension is 0"},
		{"get into short", s.GetInto(1, make([]float32, 5)), ErrDimensionMismatch, "dimension"},
		{"put NaN", s.Put(2, []float32{1, float32(math.NaN()), 3}), ErrInvalidArgument, ""},
		{"put Inf", s.Put(2, []float32{1, float32(math.Inf(1)), 3}), ErrInvalidArgument, ""},
		{"batch NaN", s.PutBatch([]uint64{3, 4}, append(vec(3, dim), 1, 2, float32(math.NaN()))), ErrInvalidArgument, ""},
		{"batch ragged", s.PutBatch([]uint64{3, 4}, vec(3, dim)), ErrDimensionMismatch, "floats"},
		{"durability", s.SetDurability(Durability(7)), ErrInvalidArgument, "durability"},
		{"metric", func() error { _, err := s.Search(vec(1, dim), 1, Metric(9)); return err }(), ErrInvalidArgument, "metric"},
		{"search dim", func() error { _, err := s.Search(vec(1, 2), 1, MetricL2); return err }(), ErrDimensionMismatch, ""},
		{"search k<0", func() error { _, err := s.Search(vec(1, dim), -1, MetricL2); return err }(), ErrInvalidArgument, ""},
		{"search batch ragged", func() error { _, err := s.SearchBatch(vec(1, 4), 1, MetricL2); return err }(), ErrDimensionMismatch, ""},
		{"second writer", func() error { _, err := Open(dir, dim, nil); return err }(), ErrLocked, "open"},
		{"missing store", func() error {
			_, err := Open(filepath.Join(t.TempDir(), "nope"), dim, &Options{NoCreate: true})
			return err
		}(), ErrNotFound, "nope"},
		{"NUL in path", func() error { _, err := Open("a\x00b", dim, nil); return err }(), ErrInvalidArgument, ""},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.err, c.want)
			continue
		}
		for _, other := range []error{ErrNotFound, ErrInvalidArgument, ErrDimensionMismatch, ErrIO,
			ErrCorrupt, ErrLocked, ErrReadOnly, ErrNoSpace, ErrVersionMismatch, ErrInternal} {
			if other != c.want && errors.Is(c.err, other) {
				t.Errorf("%s: %v also matches %v", c.name, c.err, other)
			}
		}
		var e *Error
		if !errors.As(c.err, &e) || e.Message == "" || !strings.Contains(e.Message, c.msg) {
			t.Errorf("%s: message %q lacks %q", c.name, c.err, c.msg)
		}
	}
	// Bad input changed nothing.
	if s.Len() != 1 || s.Contains(2) || s.Contains(3) {
		t.Fatalf("failed writes changed the store: len %d", s.Len())
	}
	// Wrapped errors still match.
	if _, err := s.Get(77); !errors.Is(fmt.Errorf("loading: %w", err), ErrNotFound) {
		t.Fatal("wrapped ErrNotFound does not match")
	}

	// Read-only and dimension mismatch need the writer gone.
	must(t, s.Close())
	for _, fn := range []func() error{
		func() error { return s.Put(1, vec(1, dim)) },
		func() error { _, err := s.Get(1); return err },
		func() error { _, err := s.GetRef(1); return err },
		func() error { _, err := s.Cursor(); return err },
		func() error { _, err := s.Search(vec(1, dim), 1, MetricL2); return err },
		s.Flush,
	} {
		if err := fn(); !errors.Is(err, ErrClosed) {
			t.Errorf("call after Close: %v, want ErrClosed", err)
		}
	}
	if _, err := Open(dir, dim+1, nil); !errors.Is(err, ErrDimensionMismatch) {
		t.Errorf("reopen with another dimension: %v", err)
	}
	ro, err := Open(dir, 0, &Options{ReadOnly: true})
	must(t, err)
	defer ro.Close()
	if err := ro.Put(9, vec(9, dim)); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Put on read-only store: %v", err)
	}
	if err := ro.Delete(1); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Delete on read-only store: %v", err)
	}
}

// The message must be the one of the failing call even though
// vecstore_last_error() is thread-local and goroutines move between threads:
// many goroutines fail at once, each on its own id.
func TestErrorMessagesUnderConcurrency(t *testing.T) {
	s, _ := openTemp(t, 2, nil)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				id := uint64(g*100000 + i)
				_, err := s.Get(id)
				var e *Error
				if !errors.As(err, &e) || e.Code != StatusNotFound ||
					!strings.Contains(e.Message, fmt.Sprintf("id %d", id)) {
					t.Errorf("Get(%d): %v", id, err)
					return
				}
				if i%50 == 0 {
					runtime.Gosched()
				}
			}
		}(g)
	}
	wg.Wait()

	// On a locked thread the C library's own last error is the same text.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	err := s.Put(1, []float32{1})
	var e *Error
	if !errors.As(err, &e) || cLastError() != e.Message {
		t.Fatalf("message %q, vecstore_last_error %q", e.Message, cLastError())
	}
}

func TestGuardAcrossWrites(t *testing.T) {
	const dim = 16
	s, _ := openTemp(t, dim, &Options{Durability: DurabilityNone})
	orig := vec(1, dim)
	must(t, s.Put(7, orig))
	g, err := s.GetRef(7)
	must(t, err)
	defer g.Release()
	if g.ID() != 7 || len(g.Data()) != dim || !reflect.DeepEqual(g.Data(), orig) {
		t.Fatalf("guard data %v", g.Data())
	}
	check := func(when string) {
		t.Helper()
		if !reflect.DeepEqual(g.Data(), orig) {
			t.Fatalf("guard data changed after %s: %v", when, g.Data())
		}
	}

	must(t, s.Put(7, vec(100, dim)))
	check("overwrite")
	if now, _ := s.Get(7); !reflect.DeepEqual(now, vec(100, dim)) {
		t.Fatalf("Get after overwrite = %v", now)
	}
	must(t, s.Delete(7))
	check("delete")
	// Churn so that compaction has files to rewrite and the files grow.
	ids := make([]uint64, 2000)
	rows := make([]float32, 0, len(ids)*dim)
	for i := range ids {
		ids[i] = uint64(1000 + i)
		rows = append(rows, vec(float32(i), dim)...)
	}
	must(t, s.PutBatch(ids, rows))
	must(t, s.PutBatch(ids, rows))
	if _, err := s.DeleteBatch(ids[:1500]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	check("compact")
	st, err := s.Stats()
	must(t, err)
	if st.GuardsOutstanding != 1 {
		t.Fatalf("GuardsOutstanding = %d, want 1", st.GuardsOutstanding)
	}
	must(t, s.Close())
	check("close of the store")
	g.Release()
	g.Release() // idempotent
	if g.Data() != nil {
		t.Fatal("Data after Release is not nil")
	}
}

func TestCursorSnapshot(t *testing.T) {
	s, _ := openTemp(t, 2, nil)
	for i := uint64(0); i < 10; i++ {
		must(t, s.Put(i, []float32{float32(i), 1}))
	}
	c, err := s.Cursor()
	must(t, err)
	defer c.Close()
	// Writes after the cursor opened are not seen; deleted ones still are.
	must(t, s.Put(100, []float32{1, 1}))
	must(t, s.Delete(3))
	must(t, s.Put(4, []float32{-4, -4}))
	n := 0
	for {
		id, data, err := c.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		if id >= 10 || data[0] != float32(id) || data[1] != 1 {
			t.Fatalf("cursor gave %d %v", id, data)
		}
		n++
	}
	if n != 10 {
		t.Fatalf("cursor gave %d vectors, want 10", n)
	}
	if _, _, err := c.Next(); err != io.EOF {
		t.Fatalf("Next after end: %v", err)
	}
	must(t, c.Close())
	must(t, c.Close())
	if _, _, err := c.Next(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
}

func TestGoroutinesShareStore(t *testing.T) {
	const dim = 8
	s, _ := openTemp(t, dim, &Options{Durability: DurabilityFlush})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				id := uint64(g*1000 + i)
				v := vec(float32(id), dim)
				if err := s.Put(id, v); err != nil {
					errs <- err
					return
				}
				guard, err := s.GetRef(id)
				if err != nil {
					errs <- err
					return
				}
				got, err := s.Get(id)
				if err != nil || !reflect.DeepEqual(got, v) || !reflect.DeepEqual(guard.Data(), v) {
					errs <- fmt.Errorf("goroutine %d id %d: %v %v %v", g, id, got, guard.Data(), err)
				}
				guard.Release()
				if _, err := s.Search(v, 3, MetricL2); err != nil {
					errs <- err
				}
				if i%3 == 0 {
					if err := s.Delete(id); err != nil {
						errs <- err
					}
				}
			}
		}(g)
	}
	// Maintenance and scans running alongside.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 5; i++ {
			if _, err := s.Compact(); err != nil {
				errs <- err
			}
			c, err := s.Cursor()
			if err != nil {
				errs <- err
				continue
			}
			for {
				if _, _, err := c.Next(); err != nil {
					if err != io.EOF {
						errs <- err
					}
					break
				}
			}
			c.Close()
			if _, err := s.Stats(); err != nil {
				errs <- err
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	want := 6 * (200 - 67) // ids with i%3 != 0
	if s.Len() != want {
		t.Fatalf("Len = %d, want %d", s.Len(), want)
	}
}

func TestCloseWhileInUse(t *testing.T) {
	s, _ := openTemp(t, 2, &Options{Durability: DurabilityNone})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				err := s.Put(uint64(g*100000+i), []float32{1, 2})
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	time.Sleep(20 * time.Millisecond)
	must(t, s.Close())
	wg.Wait()
}

func TestFinalizersAreABackstop(t *testing.T) {
	s, _ := openTemp(t, 2, nil)
	must(t, s.Put(1, []float32{1, 2}))
	func() {
		for i := 0; i < 3; i++ {
			if _, err := s.GetRef(1); err != nil { // leaked on purpose
				t.Fatal(err)
			}
		}
		if _, err := s.Cursor(); err != nil { // leaked on purpose
			t.Fatal(err)
		}
	}()
	for i := 0; i < 100; i++ {
		runtime.GC()
		st, err := s.Stats()
		must(t, err)
		if st.GuardsOutstanding == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("finalizers did not release the leaked guards and cursor")
}

func TestStoreFinalizer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	func() {
		s, err := Open(dir, 2, nil)
		must(t, err)
		must(t, s.Put(1, []float32{1, 2}))
		// not closed on purpose
	}()
	// The leaked handle holds the writer lock until its finalizer closes it.
	for i := 0; i < 100; i++ {
		runtime.GC()
		s, err := Open(dir, 2, nil)
		if err == nil {
			defer s.Close()
			if !s.Contains(1) {
				t.Fatal("write lost")
			}
			return
		}
		if !errors.Is(err, ErrLocked) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the finalizer did not close the leaked store")
}

// bruteL2 is the reference: the k ids nearest to q (squared L2 in float64,
// ties by id) among those keep accepts.
func bruteL2(data map[uint64][]float32, q []float32, k int, keep func(uint64) bool) []uint64 {
	type hit struct {
		id uint64
		d  float64
	}
	var hits []hit
	for id, v := range data {
		if !keep(id) {
			continue
		}
		d := 0.0
		for i := range v {
			x := float64(v[i]) - float64(q[i])
			d += x * x
		}
		hits = append(hits, hit{id, d})
	}
	sort.Slice(hits, func(a, b int) bool {
		return hits[a].d < hits[b].d || (hits[a].d == hits[b].d && hits[a].id < hits[b].id)
	})
	var ids []uint64
	for i := 0; i < k && i < len(hits); i++ {
		ids = append(ids, hits[i].id)
	}
	return ids
}

func resultIDs(res []Result) []uint64 {
	var ids []uint64
	for _, r := range res {
		ids = append(ids, r.ID)
	}
	return ids
}

func TestSearchFilterIDsAndByID(t *testing.T) {
	// Past the size from which a search runs on the pool threads too, so the
	// Go filter is called from threads Go did not start.
	const dim, n, k = 128, 40000, 10
	s, _ := openTemp(t, dim, &Options{Durability: DurabilityNone})
	rng := rand.New(rand.NewSource(7))
	data := map[uint64][]float32{}
	ids := make([]uint64, n)
	rows := make([]float32, 0, n*dim)
	for i := range ids {
		ids[i] = uint64(i)
		v := make([]float32, dim)
		for d := range v {
			v[d] = rng.Float32()
		}
		data[ids[i]] = v
		rows = append(rows, v...)
	}
	must(t, s.PutBatch(ids, rows))
	q := data[77]
	for _, threads := range []uint32{0, 1, 2} {
		must(t, s.SetSearchThreads(threads))

		var calls atomic.Int64
		third := func(id uint64) bool { calls.Add(1); return id%3 == 0 }
		res, err := s.SearchFilter(q, k, MetricL2, third)
		must(t, err)
		if got, want := resultIDs(res), bruteL2(data, q, k, third); !reflect.DeepEqual(got, want) {
			t.Fatalf("threads %d: SearchFilter = %v, want %v", threads, got, want)
		}
		if calls.Load() < k {
			t.Fatalf("the filter was called %d times", calls.Load())
		}

		candidates := []uint64{5, 9, 9, 1999, 1 << 40, 300, 301, 302}
		listed := map[uint64]bool{}
		for _, c := range candidates {
			listed[c] = true
		}
		res, err = s.SearchIDs(q, candidates, k, MetricL2)
		must(t, err)
		if got, want := resultIDs(res), bruteL2(data, q, k, func(id uint64) bool { return listed[id] }); !reflect.DeepEqual(got, want) {
			t.Fatalf("threads %d: SearchIDs = %v, want %v", threads, got, want)
		}

		res, err = s.SearchByID(77, k, MetricL2)
		must(t, err)
		if got, want := resultIDs(res), bruteL2(data, q, k, func(id uint64) bool { return id != 77 }); !reflect.DeepEqual(got, want) {
			t.Fatalf("threads %d: SearchByID = %v, want %v", threads, got, want)
		}
	}
	if _, err := s.SearchByID(n+1, k, MetricL2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SearchByID of an absent id: %v", err)
	}
	if _, err := s.SearchFilter(q, k, MetricL2, nil); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("SearchFilter with a nil filter: %v", err)
	}
}

func TestSearchFilterPanicComesBackAfterTheCall(t *testing.T) {
	// Large enough for the library's own threads to call the filter too.
	const dim, n = 128, 40000
	s, _ := openTemp(t, dim, &Options{Durability: DurabilityNone})
	ids := make([]uint64, n)
	rows := make([]float32, n*dim)
	for i := range ids {
		ids[i] = uint64(i)
		rows[i*dim] = float32(i)
	}
	must(t, s.PutBatch(ids, rows))
	var returned atomic.Bool
	func() {
		defer func() {
			if p := recover(); p != "too far" {
				t.Fatalf("recovered %v, want the filter's panic", p)
			}
		}()
		_, _ = s.SearchFilter(make([]float32, dim), 10, MetricL2, func(id uint64) bool {
			if returned.Load() {
				t.Errorf("the filter was called after SearchFilter returned")
			}
			if id > 5 {
				panic("too far")
			}
			return true
		})
	}()
	returned.Store(true)
	// The store still works.
	res, err := s.Search(make([]float32, dim), 3, MetricL2)
	must(t, err)
	if got := resultIDs(res); !reflect.DeepEqual(got, []uint64{0, 1, 2}) {
		t.Fatalf("Search after a filter's panic = %v", got)
	}
}
