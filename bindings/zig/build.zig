//! Builds the `vecstore` Zig module over the installed C library and runs its
//! tests. Where vecstore is installed comes from, in order:
//!   -Dinclude-dir=DIR / -Dlib-dir=DIR    explicit directories
//!   -Dprefix=PREFIX                      PREFIX/include and PREFIX/lib
//!   VECSTORE_PREFIX=PREFIX (environment) the same
//! and otherwise the compiler's default search paths.
//!
//!   zig build test -Dprefix=/usr/local
const std = @import("std");

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});

    const prefix = b.option([]const u8, "prefix", "Install prefix of vecstore (default: $VECSTORE_PREFIX)") orelse
        b.graph.environ_map.get("VECSTORE_PREFIX");
    const include_dir = b.option([]const u8, "include-dir", "Directory holding vecstore.h") orelse
        if (prefix) |p| b.pathJoin(&.{ p, "include" }) else null;
    const lib_dir = b.option([]const u8, "lib-dir", "Directory holding libvecstore.so") orelse
        if (prefix) |p| b.pathJoin(&.{ p, "lib" }) else null;

    // The C declarations, translated from vecstore.h (what @cImport did
    // before Zig 0.16 removed it from the language).
    const translate = b.addTranslateC(.{
        .root_source_file = b.path("src/c.h"),
        .target = target,
        .optimize = optimize,
    });
    if (include_dir) |dir| translate.addIncludePath(.{ .cwd_relative = dir });
    const c_mod = translate.createModule();

    const mod = b.addModule("vecstore", .{
        .root_source_file = b.path("src/vecstore.zig"),
        .target = target,
        .optimize = optimize,
        .link_libc = true,
        .imports = &.{.{ .name = "c", .module = c_mod }},
    });
    if (lib_dir) |dir| {
        mod.addLibraryPath(.{ .cwd_relative = dir });
        mod.addRPath(.{ .cwd_relative = dir });
    }
    mod.linkSystemLibrary("vecstore", .{ .use_pkg_config = .no });

    const tests = b.addTest(.{
        .name = "vecstore-test",
        .root_module = b.createModule(.{
            .root_source_file = b.path("test/vecstore_test.zig"),
            .target = target,
            .optimize = optimize,
            .link_libc = true,
            .imports = &.{
                .{ .name = "vecstore", .module = mod },
                .{ .name = "c", .module = c_mod },
            },
        }),
    });
    const run_tests = b.addRunArtifact(tests);
    // The tests exercise an external shared library whose changes the build
    // cache cannot see: always run them instead of reporting a cached pass.
    run_tests.has_side_effects = true;
    const test_step = b.step("test", "Run the vecstore binding tests");
    test_step.dependOn(&run_tests.step);
}
