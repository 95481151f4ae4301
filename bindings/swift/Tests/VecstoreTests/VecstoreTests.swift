import CVecstore
import Foundation
import Vecstore
import XCTest

final class VecstoreTests: XCTestCase {
    private var dirs: [String] = []

    private func tempPath() -> String {
        let path = NSTemporaryDirectory() + "vecstore-swift-" + UUID().uuidString
        dirs.append(path)
        return path
    }

    override func tearDown() {
        for d in dirs { try? FileManager.default.removeItem(atPath: d) }
        dirs = []
        super.tearDown()
    }

    func testConstantsMatchHeader() {
        XCTAssertEqual(Durability.fsync.rawValue, UInt32(VECSTORE_DURABILITY_FSYNC.rawValue))
        XCTAssertEqual(Durability.flush.rawValue, UInt32(VECSTORE_DURABILITY_FLUSH.rawValue))
        XCTAssertEqual(Durability.none.rawValue, UInt32(VECSTORE_DURABILITY_NONE.rawValue))
        XCTAssertEqual(Metric.l2.rawValue, UInt32(VECSTORE_METRIC_L2.rawValue))
        XCTAssertEqual(Metric.dot.rawValue, UInt32(VECSTORE_METRIC_DOT.rawValue))
        XCTAssertEqual(Metric.cosine.rawValue, UInt32(VECSTORE_METRIC_COSINE.rawValue))
        XCTAssertEqual(vecstore_version_number(), UInt32(VECSTORE_VERSION_NUMBER))
    }

    func testRoundTrip() throws {
        let path = tempPath()
        let store = try VecStore.open(path: path, dimension: 4)
        try store.put(42, [0.1, 0.2, 0.3, 0.4])
        try store.put(7, [1, 1, 1, 1])
        XCTAssertEqual(try store.get(42), [0.1, 0.2, 0.3, 0.4])
        XCTAssertTrue(store.contains(7))
        XCTAssertEqual(store.count, 2)
        let hits = try store.search([1, 1, 1, 1], k: 10)
        XCTAssertEqual(hits.map { $0.id }, [7, 42])
        XCTAssertEqual(hits[0].distance, 0)
        try store.delete(7)
        XCTAssertFalse(store.contains(7))
        try store.close()

        let again = try VecStore(path: path, dimension: 0)
        XCTAssertEqual(again.dimension, 4)
        XCTAssertEqual(try again.get(42), [0.1, 0.2, 0.3, 0.4])
        try again.close()
    }

    func testErrors() throws {
        let path = tempPath()
        let store = try VecStore.open(path: path, dimension: 3)
        XCTAssertThrowsError(try store.get(77)) { error in
            guard case VecStoreError.notFound(let message) = error else {
                return XCTFail("\(error)")
            }
            XCTAssertTrue(message.contains("77"), message)
        }
        XCTAssertThrowsError(try store.put(1, [1, 2])) { error in
            guard case VecStoreError.dimensionMismatch = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try store.put(1, [1, .nan, 3])) { error in
            guard case VecStoreError.invalidArgument = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try store.delete(5)) { error in
            guard case VecStoreError.notFound = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try VecStore(path: path, dimension: 3)) { error in
            guard case VecStoreError.locked = error else { return XCTFail("\(error)") }
        }
        try store.close()
        XCTAssertThrowsError(try store.get(1)) { error in
            XCTAssertEqual(error as? VecStoreError, .closed)
        }
    }

    func testWithVectorAcrossWrites() throws {
        let store = try VecStore.open(path: tempPath(), dimension: 2)
        try store.put(1, [1, 2])
        let seen: [Float] = try store.withVector(1) { buffer in
            try store.put(1, [3, 4])  // overwrite while borrowed
            try store.delete(1)
            try store.compact()
            return Array(buffer)        // still the bytes borrowed
        }
        XCTAssertEqual(seen, [1, 2])
        XCTAssertFalse(store.contains(1))
        try store.close()
    }
}
