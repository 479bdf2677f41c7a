import CCurl
import Glibc

/// The library's own threads: few, long-lived (or short helpers of one call), each named
/// ("passauth-http", "passauth-poll", ...) so it shows in `top -H`, debuggers and crash reports.
enum Threads {
    /// Starts a thread named `name` running `body`; the error is pthread_create's.
    static func start(_ name: String, _ body: @escaping () -> Void) -> Result<pthread_t, PassAuthError> {
        var thread = pthread_t()
        let start = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        let result = pthread_create(&thread, nil, { start in
            let start = Unmanaged<Start>.fromOpaque(start!).takeRetainedValue()
            ccurl_name_this_thread(start.name)
            start.body()
            return nil
        }, start)
        guard result == 0 else {
            Unmanaged<Start>.fromOpaque(start).release()
            return .failure(PassAuthError(.internal, "cannot start the \(name) thread (error \(result))"))
        }
        return .success(thread)
    }

    private final class Start {
        let name: String
        let body: () -> Void
        init(name: String, body: @escaping () -> Void) {
            self.name = name
            self.body = body
        }
    }
}
