package vecstore

/*
#include <stdbool.h>
#include <stdint.h>
*/
import "C"

import (
	"runtime/cgo"
	"unsafe"
)

// vsgFilter is the C filter of every SearchFilter: ctx is the cgo.Handle of
// the Go function. The library calls it from its search threads, several at
// once; cgo runs it on a Go stack for each.
//
//export vsgFilter
func vsgFilter(id C.uint64_t, ctx unsafe.Pointer) C.bool {
	accept := cgo.Handle(uintptr(ctx)).Value().(func(uint64) bool)
	return C.bool(accept(uint64(id)))
}
