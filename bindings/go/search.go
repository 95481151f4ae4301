package vecstore

/*
#include <stdint.h>
#include <vecstore.h>

vecstore_status vsg_fail(vecstore_status st, char **err); // vecstore.go
// The Go filter behind a search: filter.go exports it; `handle` is the
// cgo.Handle of the Go function, passed through as the filter's context.
extern bool vsgFilter(uint64_t id, void *ctx);
static vecstore_status vsg_search_filter(vecstore_t *s, const float *q, size_t dim, size_t k,
		vecstore_metric metric, uintptr_t handle, uint64_t *ids, float *dist, size_t *count,
		char **err) {
	return vsg_fail(vecstore_search_filter(s, q, dim, k, metric, vsgFilter, (void *)handle,
		ids, dist, count), err);
}
static vecstore_status vsg_search_ids(vecstore_t *s, const float *q, size_t dim,
		const uint64_t *cand, size_t ncand, size_t k, vecstore_metric metric, uint64_t *ids,
		float *dist, size_t *count, char **err) {
	return vsg_fail(vecstore_search_ids(s, q, dim, cand, ncand, k, metric, ids, dist, count), err);
}
static vecstore_status vsg_search_by_id(vecstore_t *s, uint64_t id, size_t k,
		vecstore_metric metric, uint64_t *ids, float *dist, size_t *count, char **err) {
	return vsg_fail(vecstore_search_by_id(s, id, k, metric, ids, dist, count), err);
}
static vecstore_status vsg_set_search_threads(vecstore_t *s, uint32_t n, char **err) {
	return vsg_fail(vecstore_set_search_threads(s, n), err);
}
*/
import "C"

import (
	"fmt"
	"runtime/cgo"
)

// SearchFilter returns the min(k, accepted) vectors closest to query among
// those whose id accept returns true for, closest first, ties broken by
// smaller id. accept is called from the library's search threads, several
// at once, and only for vectors close enough to enter the results (possibly
// more than once for an id): it must be safe for concurrent use. If accept
// panics, the search treats the id as rejected and SearchFilter panics with
// the same value once the library's call has returned.
func (s *Store) SearchFilter(query []float32, k int, metric Metric, accept func(id uint64) bool) ([]Result, error) {
	if accept == nil {
		return nil, goError(StatusInvalidArgument, "vecstore_search_filter: filter is nil")
	}
	call := &filterCall{accept: accept}
	handle := cgo.NewHandle(call)
	// Deleted only after the C call returned: no search thread calls the
	// filter after that.
	defer handle.Delete()
	res, err := s.searchOne("vecstore_search_filter", k, func(h *C.vecstore_t, k int, ids []uint64, dist []float32, n *C.size_t, msg **C.char) C.vecstore_status {
		return C.vsg_search_filter(h, floatPtr(query), C.size_t(len(query)), C.size_t(k),
			C.vecstore_metric(metric), C.uintptr_t(handle), idPtr(ids), floatPtr(dist), n, msg)
	})
	if call.panicked != nil {
		panic(call.panicked)
	}
	return res, err
}

// SearchIDs returns the min(k, distinct present) vectors closest to query
// among the listed ids only (absent ids are skipped, duplicates count once),
// reading only those vectors.
func (s *Store) SearchIDs(query []float32, candidates []uint64, k int, metric Metric) ([]Result, error) {
	if k > len(candidates) {
		k = len(candidates)
	}
	return s.searchOne("vecstore_search_ids", k, func(h *C.vecstore_t, k int, ids []uint64, dist []float32, n *C.size_t, msg **C.char) C.vecstore_status {
		return C.vsg_search_ids(h, floatPtr(query), C.size_t(len(query)), idPtr(candidates),
			C.size_t(len(candidates)), C.size_t(k), C.vecstore_metric(metric), idPtr(ids),
			floatPtr(dist), n, msg)
	})
}

// SearchByID returns the k vectors closest to the stored vector id, which
// is itself left out ("more like this"). ErrNotFound if there is no vector id.
func (s *Store) SearchByID(id uint64, k int, metric Metric) ([]Result, error) {
	return s.searchOne("vecstore_search_by_id", k, func(h *C.vecstore_t, k int, ids []uint64, dist []float32, n *C.size_t, msg **C.char) C.vecstore_status {
		return C.vsg_search_by_id(h, C.uint64_t(id), C.size_t(k), C.vecstore_metric(metric),
			idPtr(ids), floatPtr(dist), n, msg)
	})
}

// SetSearchThreads sets how many threads a search on this store may use,
// the calling one included: 0 (the default) one per core, 1 the calling
// thread only. Searches of every store in the process share one pool.
func (s *Store) SetSearchThreads(n uint32) error {
	h, err := s.handle()
	if err != nil {
		return err
	}
	defer s.mu.RUnlock()
	var msg *C.char
	return check(C.vsg_set_search_threads(h, C.uint32_t(n), &msg), msg)
}

// searchOne runs one single-query search call with result arrays of k
// (capped at the store's length).
func (s *Store) searchOne(name string, k int, call func(h *C.vecstore_t, k int, ids []uint64, dist []float32, n *C.size_t, msg **C.char) C.vecstore_status) ([]Result, error) {
	if k < 0 {
		return nil, goError(StatusInvalidArgument, fmt.Sprintf("%s: k is negative", name))
	}
	h, err := s.handle()
	if err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	if n := int(C.vecstore_len(h)); k > n {
		k = n
	}
	ids := make([]uint64, k)
	dist := make([]float32, k)
	var n C.size_t
	var msg *C.char
	if err := check(call(h, k, ids, dist, &n, &msg), msg); err != nil {
		return nil, err
	}
	return results(ids, dist, int(n)), nil
}
