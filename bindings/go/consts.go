package vecstore

import "strconv"

// Status is a vecstore_status code returned by the C library.
// The values equal the header's VECSTORE_* constants (a test checks this).
type Status uint32

// Status codes, as in vecstore.h.
const (
	StatusOK                Status = 0  // VECSTORE_OK
	StatusNotFound          Status = 1  // VECSTORE_NOT_FOUND
	StatusInvalidArgument   Status = 2  // VECSTORE_INVALID_ARGUMENT
	StatusDimensionMismatch Status = 3  // VECSTORE_DIMENSION_MISMATCH
	StatusIO                Status = 4  // VECSTORE_IO
	StatusCorrupt           Status = 5  // VECSTORE_CORRUPT
	StatusLocked            Status = 6  // VECSTORE_LOCKED
	StatusReadOnly          Status = 7  // VECSTORE_READ_ONLY
	StatusNoSpace           Status = 8  // VECSTORE_NO_SPACE
	StatusVersionMismatch   Status = 9  // VECSTORE_VERSION_MISMATCH
	StatusInternal          Status = 99 // VECSTORE_INTERNAL
)

var statusNames = map[Status]string{
	StatusOK:                "VECSTORE_OK",
	StatusNotFound:          "VECSTORE_NOT_FOUND",
	StatusInvalidArgument:   "VECSTORE_INVALID_ARGUMENT",
	StatusDimensionMismatch: "VECSTORE_DIMENSION_MISMATCH",
	StatusIO:                "VECSTORE_IO",
	StatusCorrupt:           "VECSTORE_CORRUPT",
	StatusLocked:            "VECSTORE_LOCKED",
	StatusReadOnly:          "VECSTORE_READ_ONLY",
	StatusNoSpace:           "VECSTORE_NO_SPACE",
	StatusVersionMismatch:   "VECSTORE_VERSION_MISMATCH",
	StatusInternal:          "VECSTORE_INTERNAL",
}

// String returns the C name of the status, e.g. "VECSTORE_NOT_FOUND"
// (the same text as vecstore_status_str).
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return "VECSTORE_UNKNOWN_STATUS(" + strconv.FormatUint(uint64(s), 10) + ")"
}

// Durability says when a write is durable (vecstore_durability).
type Durability uint32

// Durability modes, as in vecstore.h.
const (
	// DurabilityFsync (the default, and the zero value): a write is on
	// stable storage when its call returns.
	DurabilityFsync Durability = 0
	// DurabilityFlush: a write survives a crash of the process when its call
	// returns, not a power loss.
	DurabilityFlush Durability = 1
	// DurabilityNone: only Flush and Checkpoint (and Close) make writes durable.
	DurabilityNone Durability = 2
)

// Metric is the distance of a search (vecstore_metric). Smaller is closer.
type Metric uint32

// Metrics, as in vecstore.h.
const (
	MetricL2     Metric = 0 // squared Euclidean distance
	MetricDot    Metric = 1 // negative inner product
	MetricCosine Metric = 2 // 1 - cosine similarity
)
