package vecstore

// cgo cannot be used in _test.go files, so the header's constants that the
// tests compare the Go constants with are gathered here.

/*
#include <vecstore.h>
*/
import "C"

type headerConst struct {
	name   string
	header uint64 // the value in vecstore.h
	goVal  uint64 // the Go constant
}

func headerConstants() []headerConst {
	return []headerConst{
		{"VECSTORE_OK", uint64(C.VECSTORE_OK), uint64(StatusOK)},
		{"VECSTORE_NOT_FOUND", uint64(C.VECSTORE_NOT_FOUND), uint64(StatusNotFound)},
		{"VECSTORE_INVALID_ARGUMENT", uint64(C.VECSTORE_INVALID_ARGUMENT), uint64(StatusInvalidArgument)},
		{"VECSTORE_DIMENSION_MISMATCH", uint64(C.VECSTORE_DIMENSION_MISMATCH), uint64(StatusDimensionMismatch)},
		{"VECSTORE_IO", uint64(C.VECSTORE_IO), uint64(StatusIO)},
		{"VECSTORE_CORRUPT", uint64(C.VECSTORE_CORRUPT), uint64(StatusCorrupt)},
		{"VECSTORE_LOCKED", uint64(C.VECSTORE_LOCKED), uint64(StatusLocked)},
		{"VECSTORE_READ_ONLY", uint64(C.VECSTORE_READ_ONLY), uint64(StatusReadOnly)},
		{"VECSTORE_NO_SPACE", uint64(C.VECSTORE_NO_SPACE), uint64(StatusNoSpace)},
		{"VECSTORE_VERSION_MISMATCH", uint64(C.VECSTORE_VERSION_MISMATCH), uint64(StatusVersionMismatch)},
		{"VECSTORE_INTERNAL", uint64(C.VECSTORE_INTERNAL), uint64(StatusInternal)},
		{"VECSTORE_DURABILITY_FSYNC", uint64(C.VECSTORE_DURABILITY_FSYNC), uint64(DurabilityFsync)},
		{"VECSTORE_DURABILITY_FLUSH", uint64(C.VECSTORE_DURABILITY_FLUSH), uint64(DurabilityFlush)},
		{"VECSTORE_DURABILITY_NONE", uint64(C.VECSTORE_DURABILITY_NONE), uint64(DurabilityNone)},
		{"VECSTORE_METRIC_L2", uint64(C.VECSTORE_METRIC_L2), uint64(MetricL2)},
		{"VECSTORE_METRIC_DOT", uint64(C.VECSTORE_METRIC_DOT), uint64(MetricDot)},
		{"VECSTORE_METRIC_COSINE", uint64(C.VECSTORE_METRIC_COSINE), uint64(MetricCosine)},
	}
}

// cStatusName is vecstore_status_str(s), compared with Status.String.
func cStatusName(s Status) string {
	return C.GoString(C.vecstore_status_str(C.vecstore_status(s)))
}

// cLastError is vecstore_last_error() of the calling thread, for the test
// that shows why the bindings copy it inside the failing cgo call.
func cLastError() string { return C.GoString(C.vecstore_last_error()) }
