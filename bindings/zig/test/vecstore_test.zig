const std = @import("std");
const vs = @import("vecstore");
const c = @import("c");
const testing = std.testing;

/// A fresh store directory under a testing tmp dir (relative to the cwd).
const TmpStore = struct {
    tmp: testing.TmpDir,
    bufs: [4][128]u8 = undefined, // each path() gets its own buffer
    used: usize = 0,

    fn init() TmpStore {
        return .{ .tmp = testing.tmpDir(.{}) };
    }

    fn path(self: *TmpStore, name: []const u8) [:0]const u8 {
        const buf = &self.bufs[self.used];
        self.used += 1;
        return std.fmt.bufPrintSentinel(buf, ".zig-cache/tmp/{s}/{s}", .{ &self.tmp.sub_path, name }, 0) catch unreachable;
    }

    fn deinit(self: *TmpStore) void {
        self.tmp.cleanup();
    }
};

fn vec(comptime dim: usize, seed: f32) [dim]f32 {
    var v: [dim]f32 = undefined;
    for (&v, 0..) |*x, i| x.* = seed + @as(f32, @floatFromInt(i)) / 8;
    return v;
}

test "enum values equal the header constants" {
    const S = vs.Status;
    const pairs = .{
        .{ S.ok, c.VECSTORE_OK },
        .{ S.not_found, c.VECSTORE_NOT_FOUND },
        .{ S.invalid_argument, c.VECSTORE_INVALID_ARGUMENT },
        .{ S.dimension_mismatch, c.VECSTORE_DIMENSION_MISMATCH },
        .{ S.io, c.VECSTORE_IO },
        .{ S.corrupt, c.VECSTORE_CORRUPT },
        .{ S.locked, c.VECSTORE_LOCKED },
        .{ S.read_only, c.VECSTORE_READ_ONLY },
        .{ S.no_space, c.VECSTORE_NO_SPACE },
        .{ S.version_mismatch, c.VECSTORE_VERSION_MISMATCH },
        .{ S.internal, c.VECSTORE_INTERNAL },
        .{ vs.Durability.fsync, c.VECSTORE_DURABILITY_FSYNC },
        .{ vs.Durability.flush, c.VECSTORE_DURABILITY_FLUSH },
        .{ vs.Durability.none, c.VECSTORE_DURABILITY_NONE },
        .{ vs.Metric.l2, c.VECSTORE_METRIC_L2 },
        .{ vs.Metric.dot, c.VECSTORE_METRIC_DOT },
        .{ vs.Metric.cosine, c.VECSTORE_METRIC_COSINE },
    };
    inline for (pairs) |p| {
        try testing.expectEqual(@as(i64, p[1]), @as(i64, @backingInt(p[0])));
    }
    // Every named status has the header's name, and maps back from its error.
    inline for (@typeInfo(vs.Error).error_set.error_names.?) |e| {
        const err = @field(vs.Error, e);
        const s = vs.Status.fromError(err);
        try testing.expectError(err, vs.check(@backingInt(s)));
        try testing.expect(std.mem.startsWith(u8, s.name(), "VECSTORE_"));
        try testing.expect(!std.mem.eql(u8, s.name(), "VECSTORE_UNKNOWN_STATUS"));
    }
    try testing.expectEqualStrings("VECSTORE_NOT_FOUND", vs.Status.not_found.name());
    try testing.expectEqual(@as(u32, c.VECSTORE_VERSION_NUMBER), c.vecstore_version_number());
    try testing.expect(vs.version().len >= 5);
}

test "round trip" {
    var t = TmpStore.init();
    defer t.deinit();
    const dim = 4;
    const path = t.path("store");
    var s = try vs.Store.open(path, dim, .{});
    try testing.expectEqual(@as(u32, dim), s.dimension());
    try testing.expectEqual(@as(u64, 0), s.len());

    const a = [dim]f32{ 0.1, 0.2, 0.3, 0.4 };
    try s.put(42, &a);
    var out: [dim]f32 = undefined;
    try s.get(42, &out);
    try testing.expectEqualSlices(f32, &a, &out);
    try testing.expect(s.contains(42) and !s.contains(43));

    const ids = [_]u64{ 1, 2, 3, 1 };
    const rows = vec(dim, 1) ++ vec(dim, 2) ++ vec(dim, 3) ++ vec(dim, 9);
    try s.putBatch(&ids, &rows);
    try testing.expectEqual(@as(u64, 4), s.len());
    const got = try s.getAlloc(testing.allocator, 1);
    defer testing.allocator.free(got);
    try testing.expectEqualSlices(f32, &vec(dim, 9), got); // later duplicate wins

    // Search.
    var hit_ids: [3]u64 = undefined;
    var hit_dist: [3]f32 = undefined;
    const n = try s.search(&vec(dim, 2), .l2, &hit_ids, &hit_dist);
    try testing.expectEqual(@as(usize, 3), n);
    try testing.expectEqual(@as(u64, 2), hit_ids[0]);
    try testing.expectEqual(@as(f32, 0), hit_dist[0]);
    try testing.expectEqual(@as(u64, 3), hit_ids[1]);
    try testing.expectEqual(@as(f32, 4), hit_dist[1]);
    const hits = try s.searchAlloc(testing.allocator, &[_]f32{ 1, 0, 0, 0 }, 100, .dot);
    defer testing.allocator.free(hits);
    try testing.expectEqual(@as(usize, 4), hits.len);
    try testing.expectEqual(@as(u64, 1), hits[0].id);
    try testing.expectEqual(@as(f32, -9), hits[0].distance);

    // Cursor over the 4 live vectors.
    var cur = try s.cursor();
    var count: usize = 0;
    while (try cur.next()) |e| {
        try testing.expectEqual(@as(usize, dim), e.data.len);
        if (e.id == 42) try testing.expectEqualSlices(f32, &a, e.data);
        count += 1;
    }
    cur.close();
    try testing.expectEqual(@as(usize, 4), count);

    // Deletes and maintenance.
    try s.delete(42);
    try testing.expectEqual(@as(u64, 2), try s.deleteBatch(&[_]u64{ 1, 2, 1000 }));
    try s.reserve(100);
    try s.setDurability(.none);
    try s.put(5, &vec(dim, 5));
    try s.flush();
    try s.setDurability(.flush);
    try s.checkpoint();
    _ = try s.compact();
    const st = try s.stats();
    try testing.expectEqual(@as(u64, 2), st.vectors);
    try testing.expectEqual(@as(u32, dim), st.dimension);
    try testing.expectEqual(@as(u64, 2 * dim * 4), st.live_bytes);
    try s.close();

    // Reopen with dimension 0.
    var r = try vs.Store.open(path, 0, .{ .read_only = true, .create_if_missing = false });
    defer r.close() catch {};
    try testing.expectEqual(@as(u32, dim), r.dimension());
    try testing.expectEqual(@as(u64, 2), r.len());
    try r.get(5, &out);
    try testing.expectEqualSlices(f32, &vec(dim, 5), &out);
}

fn acceptEven(id: u64, ctx: ?*anyopaque) callconv(.c) bool {
    const calls: *std.atomic.Value(usize) = @ptrCast(@alignCast(ctx.?));
    _ = calls.fetchAdd(1, .monotonic);
    return id % 2 == 0;
}

test "filtered, listed and by-id searches" {
    var t = TmpStore.init();
    defer t.deinit();
    const dim = 4;
    var s = try vs.Store.open(t.path("store"), dim, .{ .durability = .none });
    defer s.close() catch {};
    // Vector i is vec(dim, i): the nearest to vec(dim, 10) are 10, 9 and 11, ...
    var i: u64 = 0;
    while (i < 40) : (i += 1) try s.put(i, &vec(dim, @floatFromInt(i)));
    const q = vec(dim, 10);
    var ids: [3]u64 = undefined;
    var dist: [3]f32 = undefined;
    for ([_]u32{ 0, 1, 2 }) |threads| {
        try s.setSearchThreads(threads);
        var calls = std.atomic.Value(usize).init(0);
        var n = try s.searchFilter(&q, .l2, acceptEven, &calls, &ids, &dist);
        try testing.expectEqual(@as(usize, 3), n);
        try testing.expectEqualSlices(u64, &[_]u64{ 10, 8, 12 }, &ids);
        try testing.expect(calls.load(.monotonic) >= 3);

        n = try s.searchIds(&q, &[_]u64{ 30, 2, 2, 1000, 20 }, .l2, &ids, &dist);
        try testing.expectEqual(@as(usize, 3), n);
        try testing.expectEqualSlices(u64, &[_]u64{ 2, 20, 30 }, &ids);

        n = try s.searchById(10, .l2, &ids, &dist);
        try testing.expectEqual(@as(usize, 3), n);
        try testing.expectEqualSlices(u64, &[_]u64{ 9, 11, 8 }, &ids);
    }
    try testing.expectError(error.NotFound, s.searchById(1000, .l2, &ids, &dist));
}

test "errors" {
    var t = TmpStore.init();
    defer t.deinit();
    const dim = 3;
    const path = t.path("store");
    var s = try vs.Store.open(path, dim, .{ .durability = .flush });
    try s.put(1, &vec(dim, 1));
    var out: [dim]f32 = undefined;

    try testing.expectError(error.NotFound, s.get(77, &out));
    try testing.expect(std.mem.indexOf(u8, vs.lastError(), "77") != null);
    try testing.expectError(error.NotFound, s.getRef(78));
    try testing.expectError(error.NotFound, s.delete(79));
    try testing.expectError(error.DimensionMismatch, s.put(2, &[_]f32{ 1, 2 }));
    try testing.expect(std.mem.indexOf(u8, vs.lastError(), "dimension") != null);
    try testing.expectError(error.InvalidArgument, s.put(2, &[_]f32{}));
    try testing.expectError(error.DimensionMismatch, s.get(1, out[0..2]));
    try testing.expectError(error.InvalidArgument, s.put(2, &[_]f32{ 1, std.math.nan(f32), 3 }));
    try testing.expectError(error.InvalidArgument, s.put(2, &[_]f32{ 1, std.math.inf(f32), 3 }));
    const bad_batch = vec(dim, 3) ++ [_]f32{ 1, 2, std.math.nan(f32) };
    try testing.expectError(error.InvalidArgument, s.putBatch(&[_]u64{ 3, 4 }, &bad_batch));
    try testing.expectError(error.DimensionMismatch, s.putBatch(&[_]u64{ 3, 4 }, &vec(dim, 3)));
    // The Zig enums cannot hold an unknown value; the raw C call can.
    try testing.expectError(error.InvalidArgument, vs.check(c.vecstore_set_durability(s.handle, 7)));
    try testing.expect(std.mem.indexOf(u8, vs.lastError(), "durability") != null);
    var ids: [1]u64 = undefined;
    var dist: [1]f32 = undefined;
    var n: usize = 0;
    try testing.expectError(error.InvalidArgument, vs.check(c.vecstore_search(s.handle, &vec(dim, 1), dim, 1, 9, &ids, &dist, &n)));
    try testing.expect(std.mem.indexOf(u8, vs.lastError(), "metric") != null);
    try testing.expectError(error.DimensionMismatch, s.search(&vec(2, 1), .l2, &ids, &dist));
    try testing.expectError(error.Locked, vs.Store.open(path, dim, .{}));
    try testing.expectError(error.NotFound, vs.Store.open(t.path("nope"), dim, .{ .create_if_missing = false }));
    // Bad input changed nothing; a good call clears the message.
    try testing.expectEqual(@as(u64, 1), s.len());
    try s.get(1, &out);
    try testing.expectEqualStrings("", vs.lastError());
    try s.close();

    try testing.expectError(error.DimensionMismatch, vs.Store.open(path, dim + 1, .{}));
    var ro = try vs.Store.open(path, 0, .{ .read_only = true });
    defer ro.close() catch {};
    try testing.expectError(error.ReadOnly, ro.put(9, &vec(dim, 9)));
    try testing.expectError(error.ReadOnly, ro.delete(1));
}

test "guards survive overwrite, delete, compaction and close" {
    var t = TmpStore.init();
    defer t.deinit();
    const dim = 16;
    var s = try vs.Store.open(t.path("store"), dim, .{ .durability = .none });
    const orig = vec(dim, 1);
    try s.put(7, &orig);
    var g = try s.getRef(7);
    try testing.expectEqual(@as(u64, 7), g.id());
    try testing.expectEqualSlices(f32, &orig, g.data());

    try s.put(7, &vec(dim, 100));
    try testing.expectEqualSlices(f32, &orig, g.data());
    var now: [dim]f32 = undefined;
    try s.get(7, &now);
    try testing.expectEqualSlices(f32, &vec(dim, 100), &now);
    try s.delete(7);
    try testing.expectEqualSlices(f32, &orig, g.data());

    // Churn, so that compaction rewrites files and the files grow.
    const count = 2000;
    const ids = try testing.allocator.alloc(u64, count);
    defer testing.allocator.free(ids);
    const rows = try testing.allocator.alloc(f32, count * dim);
    defer testing.allocator.free(rows);
    for (ids, 0..) |*id, i| {
        id.* = 1000 + i;
        @memcpy(rows[i * dim ..][0..dim], &vec(dim, @floatFromInt(i)));
    }
    try s.putBatch(ids, rows);
    try s.putBatch(ids, rows);
    _ = try s.deleteBatch(ids[0..1500]);
    _ = try s.compact();
    try testing.expectEqualSlices(f32, &orig, g.data());
    try testing.expectEqual(@as(u64, 1), (try s.stats()).guards_outstanding);

    try s.close();
    try testing.expectEqualSlices(f32, &orig, g.data());
    g.release();
}

test "cursor sees a snapshot" {
    var t = TmpStore.init();
    defer t.deinit();
    var s = try vs.Store.open(t.path("store"), 2, .{});
    defer s.close() catch {};
    var i: u64 = 0;
    while (i < 10) : (i += 1) try s.put(i, &[_]f32{ @floatFromInt(i), 1 });
    var cur = try s.cursor();
    defer cur.close();
    try s.put(100, &[_]f32{ 1, 1 });
    try s.delete(3);
    try s.put(4, &[_]f32{ -4, -4 });
    var n: usize = 0;
    while (try cur.next()) |e| {
        try testing.expect(e.id < 10);
        try testing.expectEqual(@as(f32, @floatFromInt(e.id)), e.data[0]);
        try testing.expectEqual(@as(f32, 1), e.data[1]);
        n += 1;
    }
    try testing.expectEqual(@as(usize, 10), n);
    try testing.expectEqual(@as(?vs.Cursor.Entry, null), try cur.next());
}

fn worker(s: vs.Store, base: u64, failures: *std.atomic.Value(u32)) void {
    var i: u64 = 0;
    while (i < 200) : (i += 1) {
        const id = base + i;
        const v = vec(8, @floatFromInt(id));
        s.put(id, &v) catch {
            _ = failures.fetchAdd(1, .monotonic);
            continue;
        };
        var g = s.getRef(id) catch {
            _ = failures.fetchAdd(1, .monotonic);
            continue;
        };
        if (!std.mem.eql(f32, &v, g.data())) _ = failures.fetchAdd(1, .monotonic);
        g.release();
        // A miss on this thread reports this thread's id.
        var out: [8]f32 = undefined;
        if (s.get(id + 100_000_000, &out)) |_| {
            _ = failures.fetchAdd(1, .monotonic);
        } else |_| {
            var buf: [32]u8 = undefined;
            const want = std.fmt.bufPrint(&buf, "id {d}", .{id + 100_000_000}) catch unreachable;
            if (std.mem.indexOf(u8, vs.lastError(), want) == null) _ = failures.fetchAdd(1, .monotonic);
        }
        if (i % 3 == 0) s.delete(id) catch {
            _ = failures.fetchAdd(1, .monotonic);
        };
    }
}

test "threads share one store" {
    var t = TmpStore.init();
    defer t.deinit();
    var s = try vs.Store.open(t.path("store"), 8, .{ .durability = .flush });
    defer s.close() catch {};
    var failures = std.atomic.Value(u32).init(0);
    var threads: [4]std.Thread = undefined;
    for (&threads, 0..) |*th, k| th.* = try std.Thread.spawn(.{}, worker, .{ s, @as(u64, k) * 1000, &failures });
    _ = try s.compact();
    for (threads) |th| th.join();
    try testing.expectEqual(@as(u32, 0), failures.load(.monotonic));
    try testing.expectEqual(@as(u64, 4 * (200 - 67)), s.len());
}

test "README example" {
    var t = TmpStore.init();
    defer t.deinit();
    const path = t.path("my-vectors");
    // --- as in README.md, with `path` for "/tmp/my-vectors"
    var db = try vs.Store.open(path, 4, .{}); // FSYNC durability
    defer db.close() catch {};
    try db.put(42, &.{ 0.1, 0.2, 0.3, 0.4 });
    var g = try db.getRef(42); // zero-copy: points into the mapped file
    defer g.release();
    var ids: [1]u64 = undefined;
    var dist: [1]f32 = undefined;
    _ = try db.search(&.{ 0.1, 0.2, 0.3, 0.4 }, .l2, &ids, &dist);
    var buf: [4]f32 = undefined;
    const missing = db.get(7, &buf);
    // ---
    try testing.expectEqual(@as(f32, 0.1), g.data()[0]);
    try testing.expectEqual(@as(u64, 42), ids[0]);
    try testing.expectError(error.NotFound, missing);
}
