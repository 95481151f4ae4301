package vecstore

/*
#include <stdbool.h>
#include <stdint.h>
*/
import "C"

import (
	"runtime/cgo"
	"sync"
	"unsafe"
)

// filterCall is what a SearchFilter's C context points to (as a cgo.Handle):
// the Go filter, and the first panic it raised.
type filterCall struct {
	accept   func(uint64) bool
	once     sync.Once
	panicked any
}

// vsgFilter is the C filter of every SearchFilter. The library calls it from
// its search threads, several at once; cgo runs it on a Go stack for each. A
// panic must not unwind through the library's frames: it is recovered here,
// the id is rejected, and SearchFilter panics again once the search is over.
//
//export vsgFilter
func vsgFilter(id C.uint64_t, ctx unsafe.Pointer) (accepted C.bool) {
	call := cgo.Handle(uintptr(ctx)).Value().(*filterCall)
	defer func() {
		if p := recover(); p != nil {
			call.once.Do(func() { call.panicked = p })
			accepted = false
		}
	}()
	return C.bool(call.accept(uint64(id)))
}
