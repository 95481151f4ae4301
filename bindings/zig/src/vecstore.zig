//! Zig binding of vecstore, an embeddable, crash-safe, memory-mapped vector
//! store, over its C ABI (vecstore.h, translated by build.zig).
//!
//! Fallible calls return `Error!T`; right after a failure, `lastError()` on
//! the same thread gives the library's message. A `Store` may be used from
//! any number of threads at once (but not during or after `close`).
const std = @import("std");

/// The raw C declarations of vecstore.h.
pub const c = @import("c");

/// One error per non-OK vecstore_status.
pub const Error = error{
    NotFound,
    InvalidArgument,
    DimensionMismatch,
    Io,
    Corrupt,
    Locked,
    ReadOnly,
    NoSpace,
    VersionMismatch,
    /// A panic caught in the library (the store is poisoned), or a status
    /// this binding does not know.
    Internal,
};

/// vecstore_status. Values as in the header (a test checks them).
pub const Status = enum(u32) {
    ok = 0,
    not_found = 1,
    invalid_argument = 2,
    dimension_mismatch = 3,
    io = 4,
    corrupt = 5,
    locked = 6,
    read_only = 7,
    no_space = 8,
    version_mismatch = 9,
    internal = 99,
    _,

    /// The status that `err` stands for.
    pub fn fromError(err: Error) Status {
        return switch (err) {
            error.NotFound => .not_found,
            error.InvalidArgument => .invalid_argument,
            error.DimensionMismatch => .dimension_mismatch,
            error.Io => .io,
            error.Corrupt => .corrupt,
            error.Locked => .locked,
            error.ReadOnly => .read_only,
            error.NoSpace => .no_space,
            error.VersionMismatch => .version_mismatch,
            error.Internal => .internal,
        };
    }

    /// "VECSTORE_NOT_FOUND" etc. (vecstore_status_str).
    pub fn name(s: Status) [:0]const u8 {
        return std.mem.span(c.vecstore_status_str(@intCast(@backingInt(s))));
    }
};

/// vecstore_durability: when a write is durable.
pub const Durability = enum(u32) {
    /// Default: on stable storage when the call returns.
    fsync = 0,
    /// Survives a crash of the process, not a power loss.
    flush = 1,
    /// Durable only at flush/checkpoint/close.
    none = 2,
};

/// vecstore_metric: distance of a search; smaller is closer.
pub const Metric = enum(u32) {
    /// Squared Euclidean distance.
    l2 = 0,
    /// Negative inner product.
    dot = 1,
    /// 1 - cosine similarity.
    cosine = 2,
};

/// Turns a C status into an error.
pub fn check(status: anytype) Error!void {
    const s: Status = @fromBackingInt(@intCast(@as(u32, @intCast(status))));
    return switch (s) {
        .ok => {},
        .not_found => error.NotFound,
        .invalid_argument => error.InvalidArgument,
        .dimension_mismatch => error.DimensionMismatch,
        .io => error.Io,
        .corrupt => error.Corrupt,
        .locked => error.Locked,
        .read_only => error.ReadOnly,
        .no_space => error.NoSpace,
        .version_mismatch => error.VersionMismatch,
        else => error.Internal,
    };
}

/// The library's message for the last failed call on the calling thread
/// (what failed, on which id or path, and the OS error). Valid until the next
/// vecstore call on this thread; empty when the last call succeeded.
pub fn lastError() [:0]const u8 {
    return std.mem.span(c.vecstore_last_error());
}

/// The library's version, "MAJOR.MINOR.PATCH".
pub fn version() [:0]const u8 {
    return std.mem.span(c.vecstore_version());
}

/// One search result.
pub const Hit = struct {
    id: u64,
    distance: f32,
};

/// Statistics of a store (vecstore_stats).
pub const Stats = struct {
    vectors: u64,
    dimension: u32,
    data_bytes: u64,
    log_bytes: u64,
    live_bytes: u64,
    fragmentation: f64,
    guards_outstanding: u64,
    capacity_grows: u64,
    grow_p50_ns: u64,
    grow_p99_ns: u64,
};

/// A zero-copy borrow of one stored vector. `data()` points into the
/// store's read-only memory map and stays valid and unchanged until
/// `release()`, whatever happens meanwhile (overwrite, delete, compaction,
/// close of the store). Writing through it faults.
pub const Guard = struct {
    handle: *c.vecstore_guard_t,
    ptr: [*]const f32,
    len: usize,

    pub fn data(self: Guard) []const f32 {
        return self.ptr[0..self.len];
    }

    pub fn id(self: Guard) u64 {
        return c.vecstore_guard_id(self.handle);
    }

    /// Ends the borrow; `data()` slices must no longer be used. May be called
    /// from any thread, also after the store was closed.
    pub fn release(self: *Guard) void {
        c.vecstore_guard_release(self.handle);
        self.* = undefined;
    }
};

/// A scan of a snapshot of the live vectors, in unspecified order. Use from
/// one thread at a time; close from any.
pub const Cursor = struct {
    handle: *c.vecstore_cursor_t,
    dim: usize,

    pub const Entry = struct {
        id: u64,
        /// Valid until the next `next()` or `close()`.
        data: []const f32,
    };

    /// The next vector, or null at the end. error.Corrupt for a vector whose
    /// bytes fail their checksum; calling next() again continues past it.
    pub fn next(self: *Cursor) Error!?Entry {
        var id: u64 = 0;
        var ptr: [*c]const f32 = null;
        const st = c.vecstore_cursor_next(self.handle, &id, &ptr);
        check(st) catch |err| switch (err) {
            error.NotFound => return null,
            else => return err,
        };
        return .{ .id = id, .data = ptr[0..self.dim] };
    }

    /// Releases the cursor and everything it pinned.
    pub fn close(self: *Cursor) void {
        c.vecstore_cursor_close(self.handle);
        self.* = undefined;
    }
};

/// An open store.
pub const Store = struct {
    handle: *c.vecstore_t,
    dim: u32,

    pub const Options = struct {
        durability: Durability = .fsync,
        read_only: bool = false,
        create_if_missing: bool = true,
        /// Vectors to pre-allocate room for; 0 = library default.
        initial_capacity: u64 = 0,
    };

    /// Opens (creating if missing and allowed) the store in directory `path`.
    /// `dim` 0 opens an existing store with its own dimension.
    pub fn open(path: [:0]const u8, dim: u32, options: Options) Error!Store {
        var opts = c.vecstore_options_default();
        opts.durability = @backingInt(options.durability);
        opts.read_only = options.read_only;
        opts.create_if_missing = options.create_if_missing;
        opts.initial_capacity = options.initial_capacity;
        var handle: ?*c.vecstore_t = null;
        try check(c.vecstore_open(path.ptr, dim, &opts, &handle));
        const h = handle orelse return error.Internal;
        return .{ .handle = h, .dim = @intCast(c.vecstore_dimension(h)) };
    }

    /// Makes every write durable (a checkpoint) and releases the handle, even
    /// when it returns an error. Guards and cursors stay valid.
    pub fn close(self: *Store) Error!void {
        const st = c.vecstore_close(self.handle);
        self.* = undefined;
        return check(st);
    }

    pub fn dimension(self: Store) u32 {
        return self.dim;
    }

    /// Live vectors.
    pub fn len(self: Store) u64 {
        return c.vecstore_len(self.handle);
    }

    pub fn contains(self: Store, id: u64) bool {
        return c.vecstore_contains(self.handle, id);
    }

    /// Stores `vector` (dimension() floats) under `id`, replacing any.
    pub fn put(self: Store, id: u64, vector: []const f32) Error!void {
        return check(c.vecstore_put(self.handle, id, vector.ptr, vector.len));
    }

    /// Stores ids.len vectors (row-major in `vectors`), all or nothing.
    pub fn putBatch(self: Store, ids: []const u64, vectors: []const f32) Error!void {
        if (vectors.len != ids.len * self.dim) return error.DimensionMismatch;
        return check(c.vecstore_put_batch(self.handle, ids.ptr, vectors.ptr, ids.len, self.dim));
    }

    /// Copies the vector `id` into `out` (dimension() floats).
    pub fn get(self: Store, id: u64, out: []f32) Error!void {
        return check(c.vecstore_get(self.handle, id, out.ptr, out.len));
    }

    /// A copy of the vector `id`, owned by the caller.
    pub fn getAlloc(self: Store, gpa: std.mem.Allocator, id: u64) (Error || std.mem.Allocator.Error)![]f32 {
        const out = try gpa.alloc(f32, self.dim);
        errdefer gpa.free(out);
        try self.get(id, out);
        return out;
    }

    /// Borrows the vector `id` without copying; release the guard.
    pub fn getRef(self: Store, id: u64) Error!Guard {
        var guard: ?*c.vecstore_guard_t = null;
        var ptr: [*c]const f32 = null;
        try check(c.vecstore_get_ref(self.handle, id, &guard, &ptr));
        return .{ .handle = guard orelse return error.Internal, .ptr = ptr, .len = self.dim };
    }

    /// Deletes `id`; error.NotFound if absent.
    pub fn delete(self: Store, id: u64) Error!void {
        return check(c.vecstore_delete(self.handle, id));
    }

    /// Deletes every listed id that exists, atomically; returns how many did.
    pub fn deleteBatch(self: Store, ids: []const u64) Error!u64 {
        var n: u64 = 0;
        try check(c.vecstore_delete_batch(self.handle, ids.ptr, ids.len, &n));
        return n;
    }

    /// Opens a scan of a snapshot of the live vectors as of now.
    pub fn cursor(self: Store) Error!Cursor {
        var handle: ?*c.vecstore_cursor_t = null;
        try check(c.vecstore_cursor_open(self.handle, &handle));
        return .{ .handle = handle orelse return error.Internal, .dim = self.dim };
    }

    /// The min(k, len()) vectors closest to `query`, closest first, where
    /// k = ids.len = distances.len; returns how many were written.
    pub fn search(self: Store, query: []const f32, metric: Metric, ids: []u64, distances: []f32) Error!usize {
        if (ids.len != distances.len) return error.InvalidArgument;
        var n: usize = 0;
        try check(c.vecstore_search(self.handle, query.ptr, query.len, ids.len, @backingInt(metric), ids.ptr, distances.ptr, &n));
        return n;
    }

    /// A search filter: true for an id that may be a result. Called from the
    /// library's search threads, several at once, and only for vectors close
    /// enough to enter the results (possibly more than once for an id).
    pub const Filter = *const fn (id: u64, ctx: ?*anyopaque) callconv(.c) bool;

    /// search() among the vectors whose id `filter` accepts (`ctx` is passed
    /// to every call); returns how many results were written.
    pub fn searchFilter(self: Store, query: []const f32, metric: Metric, filter: Filter, ctx: ?*anyopaque, ids: []u64, distances: []f32) Error!usize {
        if (ids.len != distances.len) return error.InvalidArgument;
        var n: usize = 0;
        try check(c.vecstore_search_filter(self.handle, query.ptr, query.len, ids.len, @backingInt(metric), filter, ctx, ids.ptr, distances.ptr, &n));
        return n;
    }

    /// search() among the listed ids only (absent ones skipped, duplicates
    /// once), reading only their vectors.
    pub fn searchIds(self: Store, query: []const f32, candidates: []const u64, metric: Metric, ids: []u64, distances: []f32) Error!usize {
        if (ids.len != distances.len) return error.InvalidArgument;
        var n: usize = 0;
        try check(c.vecstore_search_ids(self.handle, query.ptr, query.len, candidates.ptr, candidates.len, ids.len, @backingInt(metric), ids.ptr, distances.ptr, &n));
        return n;
    }

    /// The vectors closest to the stored vector `id`, `id` itself left out;
    /// error.NotFound if there is none.
    pub fn searchById(self: Store, id: u64, metric: Metric, ids: []u64, distances: []f32) Error!usize {
        if (ids.len != distances.len) return error.InvalidArgument;
        var n: usize = 0;
        try check(c.vecstore_search_by_id(self.handle, id, ids.len, @backingInt(metric), ids.ptr, distances.ptr, &n));
        return n;
    }

    /// Threads a search on this store may use, itself included: 0 one per
    /// core (the default), 1 the calling thread only.
    pub fn setSearchThreads(self: Store, threads: u32) Error!void {
        return check(c.vecstore_set_search_threads(self.handle, threads));
    }

    /// search() into caller-owned hits allocated with `gpa`.
    pub fn searchAlloc(self: Store, gpa: std.mem.Allocator, query: []const f32, k: usize, metric: Metric) (Error || std.mem.Allocator.Error)![]Hit {
        const kk = @min(k, self.len());
        const ids = try gpa.alloc(u64, kk);
        defer gpa.free(ids);
        const dist = try gpa.alloc(f32, kk);
        defer gpa.free(dist);
        const n = try self.search(query, metric, ids, dist);
        const hits = try gpa.alloc(Hit, n);
        for (hits, ids[0..n], dist[0..n]) |*h, id, d| h.* = .{ .id = id, .distance = d };
        return hits;
    }

    /// Barrier: every acknowledged write is durable on return.
    pub fn flush(self: Store) Error!void {
        return check(c.vecstore_flush(self.handle));
    }

    /// Flush, persist the id index and trim the log.
    pub fn checkpoint(self: Store) Error!void {
        return check(c.vecstore_checkpoint(self.handle));
    }

    pub fn setDurability(self: Store, durability: Durability) Error!void {
        return check(c.vecstore_set_durability(self.handle, @backingInt(durability)));
    }

    /// Pre-allocates room for `count` more vectors.
    pub fn reserve(self: Store, count: u64) Error!void {
        return check(c.vecstore_reserve(self.handle, count));
    }

    /// Reclaims the space of deleted and overwritten vectors; returns the
    /// bytes of disk given back. Guards and cursors are not disturbed.
    pub fn compact(self: Store) Error!u64 {
        var n: u64 = 0;
        try check(c.vecstore_compact(self.handle, &n));
        return n;
    }

    pub fn stats(self: Store) Error!Stats {
        var s: c.vecstore_stats = undefined;
        s.size = @sizeOf(c.vecstore_stats); // the fields this binding knows
        try check(c.vecstore_stats_get(self.handle, &s));
        return .{
            .vectors = s.vectors,
            .dimension = @intCast(s.dimension),
            .data_bytes = s.data_bytes,
            .log_bytes = s.log_bytes,
            .live_bytes = s.live_bytes,
            .fragmentation = s.fragmentation,
            .guards_outstanding = s.guards_outstanding,
            .capacity_grows = s.capacity_grows,
            .grow_p50_ns = s.grow_p50_ns,
            .grow_p99_ns = s.grow_p99_ns,
        };
    }
};
