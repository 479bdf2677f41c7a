import CQRencode
import Glibc

/// QR codes of login URLs for the second screen, drawn by the player itself: libqrencode builds the
/// module matrix locally (no text ever leaves the device for a web service).
package enum QRCode {
    /// libqrencode keeps no shared state between calls when built thread-safe, which distributions do
    /// not all guarantee; one lock keeps the (rare, microsecond) encodings apart.
    private static let encoder = Locked<Void>(())

    /// `{"size", "version", "errorCorrection": "M", "rows": ["1010…", …]}` for `text`.
    package static func matrix(of text: String) throws(PassAuthError) -> String {
        guard !text.isEmpty else { throw .invalid("text must not be empty", key: "text") }
        // Level M (15% recovery) survives a camera's glare and keeps URLs of typical length small.
        let encoded = encoder.withLock { _ in text.withCString { QRcode_encodeString8bit($0, 0, QR_ECLEVEL_M) } }
        guard let code = encoded else {
            if errno == ERANGE || errno == EINVAL {
                throw .invalid("text is too long for a QR code (\(text.utf8.count) bytes; at most 2,331 at level M)", key: "text")
            }
            throw PassAuthError(.internal, "libqrencode failed (\(String(cString: strerror(errno))))")
        }
        defer { QRcode_free(code) }
        let size = Int(code.pointee.width)
        var out = "{\"size\":\(size),\"version\":\(code.pointee.version),\"errorCorrection\":\"M\",\"rows\":["
        out.reserveCapacity(out.utf8.count + size * (size + 3))
        for y in 0..<size {
            if y > 0 { out += "," }
            var row = [UInt8](repeating: UInt8(ascii: "0"), count: size + 2)
            row[0] = UInt8(ascii: "\""); row[size + 1] = UInt8(ascii: "\"")
            for x in 0..<size where code.pointee.data[y * size + x] & 1 == 1 { row[x + 1] = UInt8(ascii: "1") }
            out += String(decoding: row, as: UTF8.self)
        }
        return out + "]}"
    }
}
