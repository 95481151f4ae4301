// Package vecstore is a Go binding of vecstore, an embeddable, crash-safe,
// memory-mapped vector store, through its C ABI (vecstore.h).
//
// The package links the installed C library through pkg-config
// ("#cgo pkg-config: vecstore"): set PKG_CONFIG_PATH to <prefix>/lib/pkgconfig
// when building and, for the shared library, LD_LIBRARY_PATH to <prefix>/lib
// (or install into a system prefix) when running.
//
// A *Store is safe for concurrent use by any number of goroutines. Close
// waits for the calls in progress on other goroutines and makes every later
// call return ErrClosed.
//
// Errors are *Error values carrying the C status code and the library's
// message for that very call; match them with errors.Is against ErrNotFound,
// ErrInvalidArgument, ... .
//
// Handles (Store, Guard, Cursor) should be released explicitly with Close or
// Release. Each also has a finalizer that releases it if a program forgets
// to, but that is only a backstop: finalizers run late or not at all, and an
// unreleased guard or cursor pins disk space and shows in
// Stats().GuardsOutstanding until then.
package vecstore

/*
#cgo pkg-config: vecstore
#include <stdlib.h>
#include <string.h>
#include <vecstore.h>

// vecstore_last_error() is thread-local, and a goroutine may move to another
// OS thread between two cgo calls. So each vsg_* helper makes one vecstore call
// and, when it fails, copies the message right there, on the same thread and
// before any other vecstore call, into a malloc'd string that Go frees.
// (Not static: search.go's helpers use it too.)
vecstore_status vsg_fail(vecstore_status st, char **err) {
	if (st != VECSTORE_OK) {
		const char *m = vecstore_last_error();
		*err = strdup(m != NULL ? m : "");
	}
	return st;
}

static vecstore_status vsg_open(const char *path, size_t dim, const vecstore_options *o,
		vecstore_t **out, char **err) {
	return vsg_fail(vecstore_open(path, dim, o, out), err);
}
static vecstore_status vsg_close(vecstore_t *s, char **err) {
	return vsg_fail(vecstore_close(s), err);
}
static vecstore_status vsg_put(vecstore_t *s, uint64_t id, const float *v, size_t dim, char **err) {
	return vsg_fail(vecstore_put(s, id, v, dim), err);
}
static vecstore_status vsg_put_batch(vecstore_t *s, const uint64_t *ids, const float *v,
		size_t count, size_t dim, char **err) {
	return vsg_fail(vecstore_put_batch(s, ids, v, count, dim), err);
}
static vecstore_status vsg_delete(vecstore_t *s, uint64_t id, char **err) {
	return vsg_fail(vecstore_delete(s, id), err);
}
static vecstore_status vsg_delete_batch(vecstore_t *s, const uint64_t *ids, size_t count,
		uint64_t *out, char **err) {
	return vsg_fail(vecstore_delete_batch(s, ids, count, out), err);
}
static vecstore_status vsg_get(vecstore_t *s, uint64_t id, float *out, size_t dim, char **err) {
	return vsg_fail(vecstore_get(s, id, out, dim), err);
}
static vecstore_status vsg_get_batch(vecstore_t *s, const uint64_t *ids, size_t count,
		float *out, size_t dim, uint8_t *found, char **err) {
	return vsg_fail(vecstore_get_batch(s, ids, count, out, dim, found), err);
}
static vecstore_status vsg_get_ref(vecstore_t *s, uint64_t id, vecstore_guard_t **g,
		const float **data, char **err) {
	return vsg_fail(vecstore_get_ref(s, id, g, data), err);
}
static vecstore_status vsg_cursor_open(vecstore_t *s, vecstore_cursor_t **c, char **err) {
	return vsg_fail(vecstore_cursor_open(s, c), err);
}
static vecstore_status vsg_cursor_next(vecstore_cursor_t *c, uint64_t *id, const float **data,
		char **err) {
	return vsg_fail(vecstore_cursor_next(c, id, data), err);
}
static vecstore_status vsg_flush(vecstore_t *s, char **err) {
	return vsg_fail(vecstore_flush(s), err);
}
static vecstore_status vsg_checkpoint(vecstore_t *s, char **err) {
	return vsg_fail(vecstore_checkpoint(s), err);
}
static vecstore_status vsg_set_durability(vecstore_t *s, vecstore_durability d, char **err) {
	return vsg_fail(vecstore_set_durability(s, d), err);
}
static vecstore_status vsg_reserve(vecstore_t *s, uint64_t n, char **err) {
	return vsg_fail(vecstore_reserve(s, n), err);
}
static vecstore_status vsg_compact(vecstore_t *s, uint64_t *out, char **err) {
	return vsg_fail(vecstore_compact(s, out), err);
}
static vecstore_status vsg_stats(vecstore_t *s, vecstore_stats *out, char **err) {
	return vsg_fail(vecstore_stats_get(s, out), err);
}
static vecstore_status vsg_search(vecstore_t *s, const float *q, size_t dim, size_t k,
		vecstore_metric metric, uint64_t *ids, float *dist, size_t *count, char **err) {
	return vsg_fail(vecstore_search(s, q, dim, k, metric, ids, dist, count), err);
}
static vecstore_status vsg_search_batch(vecstore_t *s, const float *q, size_t nq, size_t dim,
		size_t k, vecstore_metric metric, uint64_t *ids, float *dist, size_t *counts, char **err) {
	return vsg_fail(vecstore_search_batch(s, q, nq, dim, k, metric, ids, dist, counts), err);
}
*/
import "C"

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// check turns a status and the message a vsg_* helper copied into an error,
// freeing the message.
func check(st C.vecstore_status, msg *C.char) error {
	if st == C.VECSTORE_OK {
		return nil
	}
	e := &Error{Code: Status(st)}
	if msg != nil {
		e.Message = C.GoString(msg)
		C.free(unsafe.Pointer(msg))
	}
	return e
}

// floatPtr is the address of v's first element for the duration of one cgo
// call (allowed by the cgo pointer rules: the memory holds no Go pointers and
// C keeps no reference), or NULL for an empty slice.
func floatPtr(v []float32) *C.float {
	if len(v) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(&v[0]))
}

func idPtr(ids []uint64) *C.uint64_t {
	if len(ids) == 0 {
		return nil
	}
	return (*C.uint64_t)(unsafe.Pointer(&ids[0]))
}

// Version returns the C library's version, "MAJOR.MINOR.PATCH".
func Version() string { return C.GoString(C.vecstore_version()) }

// VersionNumber returns the C library's MAJOR*1000000 + MINOR*1000 + PATCH.
func VersionNumber() uint32 { return uint32(C.vecstore_version_number()) }

// HeaderVersionNumber is VECSTORE_VERSION_NUMBER of the header this package
// was compiled against; compare with VersionNumber() to detect a mismatch
// between header and shared library.
const HeaderVersionNumber uint32 = C.VECSTORE_VERSION_NUMBER

// Options of Open. The zero value gives the library defaults: FSYNC
// durability, read-write, create the store when missing, default capacity.
type Options struct {
	Durability      Durability // when a write is durable; DurabilityFsync by default
	ReadOnly        bool       // open without writing anything
	NoCreate        bool       // fail with ErrNotFound instead of creating a missing store
	InitialCapacity uint64     // vectors to pre-allocate room for; 0 = library default
}

// Store is an open vector store. Safe for concurrent use by many goroutines.
type Store struct {
	mu  sync.RWMutex // read-held by every call, write-held by Close
	h   *C.vecstore_t
	dim uint32
}

// Open opens (and, unless opts.NoCreate, creates) the store in directory
// path. dim 0 opens an existing store with whatever dimension it has; a
// non-zero dim that differs from an existing store's gives
// ErrDimensionMismatch. opts may be nil for the defaults.
func Open(path string, dim uint32, opts *Options) (*Store, error) {
	if strings.IndexByte(path, 0) >= 0 {
		return nil, goError(StatusInvalidArgument, "vecstore_open: path contains a NUL byte")
	}
	o := C.vecstore_options_default()
	if opts != nil {
		o.durability = C.vecstore_durability(opts.Durability)
		o.read_only = C.bool(opts.ReadOnly)
		o.create_if_missing = C.bool(!opts.NoCreate)
		o.initial_capacity = C.uint64_t(opts.InitialCapacity)
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var h *C.vecstore_t
	var msg *C.char
	if err := check(C.vsg_open(cpath, C.size_t(dim), &o, &h, &msg), msg); err != nil {
		return nil, err
	}
	s := &Store{h: h, dim: uint32(C.vecstore_dimension(h))}
	runtime.SetFinalizer(s, (*Store).finalize)
	return s, nil
}

// finalize closes a Store that became unreachable without Close (backstop).
func (s *Store) finalize() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h != nil {
		var msg *C.char
		_ = check(C.vsg_close(s.h, &msg), msg)
		s.h = nil
	}
}

// Close makes every acknowledged write durable (a checkpoint) and releases
// the store. It waits for calls in progress on other goroutines; later calls
// return ErrClosed, as does a second Close. Outstanding guards and cursors
// stay valid until released. The handle is released even when Close returns
// an error (the writes then stay in the log and are recovered at next Open).
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h == nil {
		return ErrClosed
	}
	var msg *C.char
	err := check(C.vsg_close(s.h, &msg), msg)
	s.h = nil
	runtime.SetFinalizer(s, nil)
	return err
}

// handle read-locks the store; the caller must s.mu.RUnlock() when the C call
// is done. Holding the lock also keeps s reachable, so its finalizer cannot
// close the handle during the call.
func (s *Store) handle() (*C.vecstore_t, error) {
	s.mu.RLock()
	if s.h == nil {
		s.mu.RUnlock()
		return nil, ErrClosed
	}
	return s.h, nil
}

// Put stores vector under id, replacing any vector with that id. It is
// durable on return as the store's durability mode says. len(vector) must be
// the store's dimension; NaN and ±Inf are rejected (ErrInvalidArgument).
func (s *Store) Put(id uint64, vector []float32) error {
	h, err := s.handle()
	if err != nil {
		return err
	}
	defer s.mu.RUnlock()
	var msg *C.char
	return check(C.vsg_put(h, C.uint64_t(id), floatPtr(vector), C.size_t(len(vector)), &msg), msg)
}

// PutBatch stores len(ids) vectors atomically (all or nothing, also across a
// crash). vectors is row-major: len(ids) * Dimension() floats. A later
// duplicate id wins.
func (s *Store) PutBatch(ids []uint64, vectors []float32) error {
	h, err := s.handle()
	if err != nil {
		return err
	}
	defer s.mu.RUnlock()
	if len(vectors) != len(ids)*int(s.dim) {
		return goError(StatusDimensionMismatch, fmt.Sprintf(
			"vecstore_put_batch: %d floats for %d ids of dimension %d", len(vectors), len(ids), s.dim))
	}
	var msg *C.char
	return check(C.vsg_put_batch(h, idPtr(ids), floatPtr(vectors), C.size_t(len(ids)),
		C.size_t(s.dim), &msg), msg)
}

// Delete deletes the vector id; ErrNotFound if there is none.
func (s *Store) Delete(id uint64) error {
	h, err := s.handle()
	if err != nil {
		return err
	}
	defer s.mu.RUnlock()
	var msg *C.char
	return check(C.vsg_delete(h, C.uint64_t(id), &msg), msg)
}

// DeleteBatch deletes every listed id that exists, atomically, and returns
// how many existed. Absent ids are not an error.
func (s *Store) DeleteBatch(ids []uint64) (deleted uint64, err error) {
	h, err := s.handle()
	if err != nil {
		return 0, err
	}
	defer s.mu.RUnlock()
	var n C.uint64_t
	var msg *C.char
	if err := check(C.vsg_delete_batch(h, idPtr(ids), C.size_t(len(ids)), &n, &msg), msg); err != nil {
		return 0, err
	}
	return uint64(n), nil
}

// Get returns a copy of the vector id (ErrNotFound if there is none).
func (s *Store) Get(id uint64) ([]float32, error) {
	out := make([]float32, s.dim)
	if err := s.GetInto(id, out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetInto copies the vector id into dst, which must have the store's
// dimension as its length.
func (s *Store) GetInto(id uint64, dst []float32) error {
	h, err := s.handle()
	if err != nil {
		return err
	}
	defer s.mu.RUnlock()
	var msg *C.char
	return check(C.vsg_get(h, C.uint64_t(id), floatPtr(dst), C.size_t(len(dst)), &msg), msg)
}

// GetBatch copies the vectors of ids: row i of vectors (row-major,
// len(ids)*Dimension() floats) holds ids[i]'s vector when found[i] is true
// and zeros otherwise. Absent ids are not an error.
func (s *Store) GetBatch(ids []uint64) (vectors []float32, found []bool, err error) {
	h, err := s.handle()
	if err != nil {
		return nil, nil, err
	}
	defer s.mu.RUnlock()
	vectors = make([]float32, len(ids)*int(s.dim))
	f := make([]uint8, len(ids))
	var fp *C.uint8_t
	if len(f) > 0 {
		fp = (*C.uint8_t)(unsafe.Pointer(&f[0]))
	}
	var msg *C.char
	if err := check(C.vsg_get_batch(h, idPtr(ids), C.size_t(len(ids)), floatPtr(vectors),
		C.size_t(s.dim), fp, &msg), msg); err != nil {
		return nil, nil, err
	}
	found = make([]bool, len(ids))
	for i, b := range f {
		found[i] = b != 0
	}
	return vectors, found, nil
}

// Contains reports whether a vector id exists (false after Close).
func (s *Store) Contains(id uint64) bool {
	h, err := s.handle()
	if err != nil {
		return false
	}
	defer s.mu.RUnlock()
	return bool(C.vecstore_contains(h, C.uint64_t(id)))
}

// Len returns the number of live vectors (0 after Close).
func (s *Store) Len() int {
	h, err := s.handle()
	if err != nil {
		return 0
	}
	defer s.mu.RUnlock()
	return int(C.vecstore_len(h))
}

// Dimension returns the store's dimension (floats per vector).
func (s *Store) Dimension() uint32 { return s.dim }

// Guard is a zero-copy borrow of one stored vector.
type Guard struct {
	mu   sync.Mutex
	g    *C.vecstore_guard_t
	id   uint64
	data []float32
}

// GetRef borrows the vector id without copying it. The returned Guard's
// Data() points into the store's read-only memory map; the floats stay valid
// and unchanged until Release, whatever happens meanwhile (overwrite or
// delete of id, Compact, growth of the files, Close of the store). Guards
// never block other calls. Always Release a guard, typically with
// defer g.Release().
func (s *Store) GetRef(id uint64) (*Guard, error) {
	h, err := s.handle()
	if err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	var g *C.vecstore_guard_t
	var data *C.float
	var msg *C.char
	if err := check(C.vsg_get_ref(h, C.uint64_t(id), &g, &data, &msg), msg); err != nil {
		return nil, err
	}
	guard := &Guard{g: g, id: id, data: unsafe.Slice((*float32)(unsafe.Pointer(data)), int(s.dim))}
	runtime.SetFinalizer(guard, (*Guard).release)
	return guard, nil
}

// Data returns the borrowed vector. The slice is backed by the pinned C
// memory (unsafe.Slice over the pointer vecstore_get_ref gave), not by the
// Go heap:
//
//   - it is valid only until Release, and only while the Guard itself is
//     reachable: keep the Guard alive (defer g.Release() does) for as long
//     as you use the slice, or the finalizer may release it under you;
//   - it is read-only: the memory is mapped without write permission, and
//     writing to the slice crashes the program;
//   - copy it (append([]float32(nil), g.Data()...)) to keep the values.
//
// After Release, Data returns nil.
func (g *Guard) Data() []float32 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.data
}

// ID returns the id the guard was taken for.
func (g *Guard) ID() uint64 { return g.id }

// Release ends the borrow; slices returned by Data must no longer be used.
// Safe to call more than once and from any goroutine.
func (g *Guard) Release() {
	if g.release() {
		runtime.SetFinalizer(g, nil)
	}
}

func (g *Guard) release() bool {
	g.mu.Lock()
	p := g.g
	g.g, g.data = nil, nil
	g.mu.Unlock()
	if p == nil {
		return false
	}
	C.vecstore_guard_release(p)
	return true
}

// Cursor scans a consistent snapshot of the store's live vectors, taken when
// it was opened, in unspecified order. Use it from one goroutine at a time;
// Close may be called from any.
type Cursor struct {
	mu  sync.Mutex
	c   *C.vecstore_cursor_t
	dim int
}

// Cursor opens a scan of a snapshot of the live vectors as of now; later
// writes are not seen. The snapshot pins its vectors as guards do, so Close
// it when done.
func (s *Store) Cursor() (*Cursor, error) {
	h, err := s.handle()
	if err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	var c *C.vecstore_cursor_t
	var msg *C.char
	if err := check(C.vsg_cursor_open(h, &c, &msg), msg); err != nil {
		return nil, err
	}
	cur := &Cursor{c: c, dim: int(s.dim)}
	runtime.SetFinalizer(cur, (*Cursor).close)
	return cur, nil
}

// Next returns the next vector of the snapshot, or io.EOF at the end. data
// is backed by C memory pinned by the cursor: read-only, and valid only until
// the next call of Next or Close (and while the Cursor is reachable); copy
// it to keep it. A vector whose bytes fail their checksum gives an error
// matching ErrCorrupt (with its id); Next may be called again to continue
// past it.
func (c *Cursor) Next() (id uint64, data []float32, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == nil {
		return 0, nil, ErrClosed
	}
	var cid C.uint64_t
	var p *C.float
	var msg *C.char
	st := C.vsg_cursor_next(c.c, &cid, &p, &msg)
	if st == C.VECSTORE_NOT_FOUND {
		if msg != nil {
			C.free(unsafe.Pointer(msg))
		}
		return 0, nil, io.EOF
	}
	if err := check(st, msg); err != nil {
		return uint64(cid), nil, err
	}
	return uint64(cid), unsafe.Slice((*float32)(unsafe.Pointer(p)), c.dim), nil
}

// Close releases the cursor and everything it pinned. It is safe to call more
// than once and from any goroutine; it always returns nil.
func (c *Cursor) Close() error {
	if c.close() {
		runtime.SetFinalizer(c, nil)
	}
	return nil
}

func (c *Cursor) close() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == nil {
		return false
	}
	C.vecstore_cursor_close(c.c)
	c.c = nil
	return true
}

// Flush is a barrier: every write acknowledged so far is durable on return.
func (s *Store) Flush() error {
	h, err := s.handle()
	if err != nil {
		return err
	}
	defer s.mu.RUnlock()
	var msg *C.char
	return check(C.vsg_flush(h, &msg), msg)
}

// Checkpoint flushes, persists the id index and trims the log, so that the
// next Open replays nothing.
func (s *Store) Checkpoint() error {
	h, err := s.handle()
	if err != nil {
		return err
	}
	defer s.mu.RUnlock()
	var msg *C.char
	return check(C.vsg_checkpoint(h, &msg), msg)
}

// SetDurability changes the durability mode. Leaving DurabilityNone
// checkpoints first.
func (s *Store) SetDurability(d Durability) error {
	h, err := s.handle()
	if err != nil {
		return err
	}
	defer s.mu.RUnlock()
	var msg *C.char
	return check(C.vsg_set_durability(h, C.vecstore_durability(d), &msg), msg)
}

// Reserve pre-allocates room for n more vectors.
func (s *Store) Reserve(n uint64) error {
	h, err := s.handle()
	if err != nil {
		return err
	}
	defer s.mu.RUnlock()
	var msg *C.char
	return check(C.vsg_reserve(h, C.uint64_t(n), &msg), msg)
}

// Compact rewrites files holding deleted or overwritten vectors and returns
// the bytes of disk given back. Guards and cursors are not disturbed.
func (s *Store) Compact() (reclaimed uint64, err error) {
	h, err := s.handle()
	if err != nil {
		return 0, err
	}
	defer s.mu.RUnlock()
	var n C.uint64_t
	var msg *C.char
	if err := check(C.vsg_compact(h, &n, &msg), msg); err != nil {
		return 0, err
	}
	return uint64(n), nil
}

// Stats are the store's statistics (vecstore_stats).
type Stats struct {
	Vectors           uint64        // live vectors
	Dimension         uint32        // floats per vector
	DataBytes         uint64        // bytes of vector data files on disk
	LogBytes          uint64        // bytes of log not yet checkpointed
	LiveBytes         uint64        // Vectors * Dimension * 4
	Fragmentation     float64       // 0..1, reclaimed by Compact
	GuardsOutstanding uint64        // guards and cursors not yet released
	CapacityGrows     uint64        // times the data files were extended
	GrowP50           time.Duration // median latency of extending the files
	GrowP99           time.Duration // 99th-percentile latency of extending the files
}

// Stats returns the store's statistics as of now.
func (s *Store) Stats() (Stats, error) {
	h, err := s.handle()
	if err != nil {
		return Stats{}, err
	}
	defer s.mu.RUnlock()
	var cs C.vecstore_stats
	cs.size = C.size_t(unsafe.Sizeof(cs))
	var msg *C.char
	if err := check(C.vsg_stats(h, &cs, &msg), msg); err != nil {
		return Stats{}, err
	}
	return Stats{
		Vectors:           uint64(cs.vectors),
		Dimension:         uint32(cs.dimension),
		DataBytes:         uint64(cs.data_bytes),
		LogBytes:          uint64(cs.log_bytes),
		LiveBytes:         uint64(cs.live_bytes),
		Fragmentation:     float64(cs.fragmentation),
		GuardsOutstanding: uint64(cs.guards_outstanding),
		CapacityGrows:     uint64(cs.capacity_grows),
		GrowP50:           time.Duration(cs.grow_p50_ns),
		GrowP99:           time.Duration(cs.grow_p99_ns),
	}, nil
}

// Result is one hit of a search.
type Result struct {
	ID       uint64
	Distance float32 // smaller is closer, whatever the metric
}

// Search returns the min(k, Len()) vectors closest to query, closest first,
// ties broken by smaller id (exact search over a consistent snapshot).
func (s *Store) Search(query []float32, k int, metric Metric) ([]Result, error) {
	return s.searchOne("vecstore_search", k, func(h *C.vecstore_t, k int, ids []uint64, dist []float32, n *C.size_t, msg **C.char) C.vecstore_status {
		return C.vsg_search(h, floatPtr(query), C.size_t(len(query)), C.size_t(k),
			C.vecstore_metric(metric), idPtr(ids), floatPtr(dist), n, msg)
	})
}

// SearchBatch runs len(queries)/Dimension() searches (queries is row-major)
// in one pass over the stored vectors; result i belongs to query i.
func (s *Store) SearchBatch(queries []float32, k int, metric Metric) ([][]Result, error) {
	dim := int(s.dim)
	if len(queries)%dim != 0 {
		return nil, goError(StatusDimensionMismatch, fmt.Sprintf(
			"vecstore_search_batch: %d floats are not rows of dimension %d", len(queries), dim))
	}
	nq := len(queries) / dim
	if k < 0 {
		return nil, goError(StatusInvalidArgument, "vecstore_search_batch: k is negative")
	}
	h, err := s.handle()
	if err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	// The C call writes min(k, len) hits per query into arrays of k: cap k at
	// the current length so a large k does not allocate for nothing (a
	// concurrent put cannot make the library write more than the k passed).
	if n := int(C.vecstore_len(h)); k > n {
		k = n
	}
	ids := make([]uint64, nq*k)
	dist := make([]float32, nq*k)
	counts := make([]C.size_t, nq)
	var cp *C.size_t
	if nq > 0 {
		cp = &counts[0]
	}
	var msg *C.char
	st := C.vsg_search_batch(h, floatPtr(queries), C.size_t(nq), C.size_t(dim),
		C.size_t(k), C.vecstore_metric(metric), idPtr(ids), floatPtr(dist), cp, &msg)
	if err := check(st, msg); err != nil {
		return nil, err
	}
	out := make([][]Result, nq)
	for q := range out {
		out[q] = results(ids[q*k:], dist[q*k:], int(counts[q]))
	}
	return out, nil
}

// results pairs the first n of a search's ids and distances.
func results(ids []uint64, dist []float32, n int) []Result {
	r := make([]Result, n)
	for i := range r {
		r[i] = Result{ID: ids[i], Distance: dist[i]}
	}
	return r
}
