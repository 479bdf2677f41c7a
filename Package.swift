// swift-tools-version:6.0
import PackageDescription

// libpassauth.so: the Swift runtime is linked in statically so the library loads in processes that have
// no Swift toolchain, only the C contract (passauth_*) is exported, and the SONAME is libpassauth.so.0.
let sharedObjectFlags: [String] = [
    "-static-stdlib",
    "-Xlinker", "--version-script=Sources/PassAuth/exports.map",
    "-Xlinker", "-soname=libpassauth.so.0",
    "-Xlinker", "--gc-sections",
    // Identical functions folded (the generic specialisations the stdlib and the core repeat): about
    // 140 KB of a 7.3 MB stripped library; nothing in Swift compares function addresses.
    "-Xlinker", "--icf=all",
    // lld (the toolchain's own) with the core compiled one function per section: the functions nothing
    // calls are dropped, and -O2 merges string tails (with gold and whole-file sections: 7.48 MB
    // stripped; this way 7.34 MB, no instruction more per call). The fleet's Redis code is compiled
    // for size besides (7.32 MB).
    "-use-ld=lld",
    "-Xlinker", "-O2",
    "-Xlinker", "-z", "-Xlinker", "relro",
    "-Xlinker", "-z", "-Xlinker", "now",
]

let package = Package(
    name: "passauth",
    products: [
        .library(name: "passauth", type: .dynamic, targets: ["PassAuth"]),
        // The `passauth` command (installed as bin/passauth; a product may not share the library's name).
        .executable(name: "passauth-cli", targets: ["passauth-cli"]),
    ],
    targets: [
        .systemLibrary(name: "CJansson", path: "Sources/CJansson"),
        .systemLibrary(name: "CPassAuthHeader", path: "Sources/CPassAuthHeader"),
        .systemLibrary(name: "CQRencode", path: "Sources/CQRencode"),
        // The default store (libsqlite3) and the encryption of secrets at rest (libcrypto, which libcurl
        // already brings in).
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL"),
        .target(
            name: "CCurl",
            path: "Sources/CCurl",
            linkerSettings: [.linkedLibrary("curl")]
        ),
        // The Redis store's wire layer: libhiredis.so.0.14 is dlopen'ed at the first Redis connection (its
        // header gives the types; nothing of it is linked), the socket I/O is ours, TLS through libssl
        // (which libcurl already brings in).
        .target(
            name: "CHiredis",
            path: "Sources/CHiredis",
            // DWARF 4: valgrind 3.19 (callgrind in make bench, memcheck, helgrind) gives up on the
            // DWARF 5 location lists this file's debug info has.
            cSettings: [.unsafeFlags(["-gdwarf-4"])],
            linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]
        ),
        .target(
            name: "PassAuthCore",
            dependencies: ["CJansson", "CCurl", "CQRencode", "CSQLite", "COpenSSL", "CHiredis"],
            path: "Sources/PassAuthCore",
            swiftSettings: [.unsafeFlags(["-Xfrontend", "-function-sections"])]
        ),
        .target(
            name: "PassAuth",
            dependencies: ["PassAuthCore", "CPassAuthHeader"],
            path: "Sources/PassAuth",
            exclude: ["exports.map"],
            swiftSettings: [.unsafeFlags(["-Xfrontend", "-function-sections"])],
            linkerSettings: [.unsafeFlags(sharedObjectFlags)]
        ),
        .executableTarget(
            name: "passauth-cli",
            dependencies: ["PassAuthCore"],
            path: "Sources/passauth-cli",
            // The Swift runtime linked in statically: the installed command runs without a toolchain.
            linkerSettings: [.unsafeFlags(["-static-stdlib"])]
        ),
        .testTarget(
            name: "PassAuthCoreTests",
            dependencies: ["PassAuthCore", "CSQLite"],
            path: "Tests/PassAuthCoreTests"
        ),
    ]
)
