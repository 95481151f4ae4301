// swift-tools-version:5.7
// Swift binding of vecstore over its C ABI. Build against an installed
// vecstore found through pkg-config:
//   PKG_CONFIG_PATH=<prefix>/lib/pkgconfig LD_LIBRARY_PATH=<prefix>/lib swift test
import PackageDescription

let package = Package(
    name: "Vecstore",
    products: [
        .library(name: "Vecstore", targets: ["Vecstore"]),
    ],
    targets: [
        // The C API: a module map over vecstore.h; -I/-L come from vecstore.pc.
        .systemLibrary(name: "CVecstore", path: "Sources/CVecstore", pkgConfig: "vecstore"),
        .target(name: "Vecstore", dependencies: ["CVecstore"]),
        .testTarget(name: "VecstoreTests", dependencies: ["Vecstore", "CVecstore"]),
    ]
)
