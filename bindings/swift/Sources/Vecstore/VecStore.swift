// Swift binding of vecstore, an embeddable, crash-safe, memory-mapped vector
// store, over its C ABI (vecstore.h through the CVecstore module).
//
// Every method is synchronous: the C call and the read of the thread-local
// vecstore_last_error() happen on the same thread, one right after the other,
// so the message in a thrown VecStoreError always belongs to that call.

import CVecstore

/// A failed vecstore call: one case per C status, with the library's message.
public enum VecStoreError: Error, Equatable, CustomStringConvertible {
    case notFound(String)
    case invalidArgument(String)
    case dimensionMismatch(String)
    case io(String)
    case corrupt(String)
    case locked(String)
    case readOnly(String)
    case noSpace(String)
    case versionMismatch(String)
    /// A panic caught in the library (the store is poisoned), or an unknown status.
    case internalError(String)
    /// The VecStore was closed (a Swift-side condition, not a C status).
    case closed

    /// Builds the error for a non-OK status, reading vecstore_last_error()
    /// now: call it right after the failing C call, on the same thread.
    init(status: vecstore_status) {
        let message = String(cString: vecstore_last_error())
        switch UInt32(status.rawValue) {
        case UInt32(VECSTORE_NOT_FOUND.rawValue): self = .notFound(message)
        case UInt32(VECSTORE_INVALID_ARGUMENT.rawValue): self = .invalidArgument(message)
        case UInt32(VECSTORE_DIMENSION_MISMATCH.rawValue): self = .dimensionMismatch(message)
        case UInt32(VECSTORE_IO.rawValue): self = .io(message)
        case UInt32(VECSTORE_CORRUPT.rawValue): self = .corrupt(message)
        case UInt32(VECSTORE_LOCKED.rawValue): self = .locked(message)
        case UInt32(VECSTORE_READ_ONLY.rawValue): self = .readOnly(message)
        case UInt32(VECSTORE_NO_SPACE.rawValue): self = .noSpace(message)
        case UInt32(VECSTORE_VERSION_MISMATCH.rawValue): self = .versionMismatch(message)
        default: self = .internalError(message)
        }
    }

    /// The library's message ("vecstore_get: no vector with id 7", ...).
    public var message: String {
        switch self {
        case .notFound(let m), .invalidArgument(let m), .dimensionMismatch(let m), .io(let m),
             .corrupt(let m), .locked(let m), .readOnly(let m), .noSpace(let m),
             .versionMismatch(let m), .internalError(let m):
            return m
        case .closed:
            return "vecstore: the store is closed"
        }
    }

    public var description: String { message }
}

/// Throws the VecStoreError of a non-OK status.
@inline(__always)
func check(_ status: vecstore_status) throws {
    if status.rawValue != VECSTORE_OK.rawValue {
        throw VecStoreError(status: status)
    }
}

/// When a write is durable (vecstore_durability).
public enum Durability: UInt32 {
    /// Default: on stable storage when the call returns.
    case fsync = 0
    /// Survives a crash of the process, not a power loss.
    case flush = 1
    /// Durable only at flush(), checkpoint() or close().
    case none = 2
}

/// Distance of a search (vecstore_metric); smaller is closer.
public enum Metric: UInt32 {
    case l2 = 0      // squared Euclidean distance
    case dot = 1     // negative inner product
    case cosine = 2  // 1 - cosine similarity
}

public struct SearchResult: Equatable {
    public let id: UInt64
    public let distance: Float
}

/// An open store. Calls may come from any number of threads at once, but not
/// concurrently with close() (nor after it: they then throw .closed).
public final class VecStore {
    private var handle: OpaquePointer?
    /// Floats per vector.
    public let dimension: UInt32

    public struct Options {
        public var durability: Durability = .fsync
        public var readOnly: Bool = false
        public var createIfMissing: Bool = true
        /// Vectors to pre-allocate room for; 0 = library default.
        public var initialCapacity: UInt64 = 0
        public init() {}
    }

    /// The C library's version, "MAJOR.MINOR.PATCH".
    public static var version: String { String(cString: vecstore_version()) }

    /// Opens (creating when missing and allowed) the store in directory `path`.
    /// `dimension` 0 opens an existing store with its own dimension.
    public init(path: String, dimension: UInt32, options: Options = Options()) throws {
        var opts = vecstore_options_default()
        opts.durability = vecstore_durability(rawValue: options.durability.rawValue)
        opts.read_only = options.readOnly
        opts.create_if_missing = options.createIfMissing
        opts.initial_capacity = options.initialCapacity
        var h: OpaquePointer? = nil
        try check(vecstore_open(path, Int(dimension), &opts, &h))
        self.handle = h
        self.dimension = UInt32(vecstore_dimension(h))
    }

    public static func open(path: String, dimension: UInt32,
                            options: Options = Options()) throws -> VecStore {
        try VecStore(path: path, dimension: dimension, options: options)
    }

    /// A store nobody closed is closed here, ignoring the status.
    deinit {
        if let h = handle {
            _ = vecstore_close(h)
        }
    }

    /// Makes every write durable (a checkpoint) and releases the store; the
    /// handle is released even when this throws.
    public func close() throws {
        guard let h = handle else { throw VecStoreError.closed }
        handle = nil
        try check(vecstore_close(h))
    }

    private func liveHandle() throws -> OpaquePointer {
        guard let h = handle else { throw VecStoreError.closed }
        return h
    }

    /// Live vectors (0 once closed).
    public var count: Int {
        guard let h = handle else { return 0 }
        return Int(vecstore_len(h))
    }

    public func contains(_ id: UInt64) -> Bool {
        guard let h = handle else { return false }
        return vecstore_contains(h, id)
    }

    /// Stores `vector` (`dimension` floats) under `id`, replacing any.
    public func put(_ id: UInt64, _ vector: [Float]) throws {
        let h = try liveHandle()
        let status = vector.withUnsafeBufferPointer { v in
            vecstore_put(h, id, v.baseAddress, v.count)
        }
        try check(status)
    }

    /// A copy of the vector `id`.
    public func get(_ id: UInt64) throws -> [Float] {
        let h = try liveHandle()
        var out = [Float](repeating: 0, count: Int(dimension))
        let status = out.withUnsafeMutableBufferPointer { o in
            vecstore_get(h, id, o.baseAddress, o.count)
        }
        try check(status)
        return out
    }

    /// Calls `body` with the vector `id` in place, without copying it. The
    /// buffer points into the store's read-only memory map, pinned by a guard
    /// for the duration of `body`: its floats do not change even if the vector
    /// is overwritten, deleted or compacted meanwhile. Do not let the pointer
    /// escape `body`; copy (Array(buffer)) to keep the values.
    public func withVector<R>(_ id: UInt64,
                              _ body: (UnsafeBufferPointer<Float>) throws -> R) throws -> R {
        let h = try liveHandle()
        var guardHandle: OpaquePointer? = nil
        var data: UnsafePointer<Float>? = nil
        try check(vecstore_get_ref(h, id, &guardHandle, &data))
        defer { vecstore_guard_release(guardHandle) }
        return try body(UnsafeBufferPointer(start: data, count: Int(dimension)))
    }

    /// Deletes `id`; throws .notFound if absent.
    public func delete(_ id: UInt64) throws {
        let h = try liveHandle()
        try check(vecstore_delete(h, id))
    }

    /// The min(k, count) vectors closest to `query`, closest first (ties by
    /// smaller id).
    public func search(_ query: [Float], k: Int, metric: Metric = .l2) throws -> [SearchResult] {
        let h = try liveHandle()
        guard k >= 0 else { throw VecStoreError.invalidArgument("vecstore_search: k is negative") }
        let room = min(k, Int(vecstore_len(h)))  // never more hits than vectors now
        var ids = [UInt64](repeating: 0, count: room)
        var distances = [Float](repeating: 0, count: room)
        var found = 0
        let status = query.withUnsafeBufferPointer { q in
            ids.withUnsafeMutableBufferPointer { i in
                distances.withUnsafeMutableBufferPointer { d in
                    vecstore_search(h, q.baseAddress, q.count, room, vecstore_metric(rawValue: metric.rawValue),
                                    i.baseAddress, d.baseAddress, &found)
                }
            }
        }
        try check(status)
        return (0..<found).map { SearchResult(id: ids[$0], distance: distances[$0]) }
    }

    /// Barrier: every acknowledged write is durable on return.
    public func flush() throws {
        let h = try liveHandle()
        try check(vecstore_flush(h))
    }

    /// Flush, persist the id index and trim the log.
    public func checkpoint() throws {
        let h = try liveHandle()
        try check(vecstore_checkpoint(h))
    }

    /// Reclaims the space of deleted and overwritten vectors; returns the
    /// bytes of disk given back.
    @discardableResult
    public func compact() throws -> UInt64 {
        let h = try liveHandle()
        var reclaimed: UInt64 = 0
        try check(vecstore_compact(h, &reclaimed))
        return reclaimed
    }
}
