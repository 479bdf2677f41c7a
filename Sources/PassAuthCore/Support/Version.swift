/// The library version. Generated from the repository's VERSION file with the header's
/// PASSAUTH_VERSION_* lines (scripts/version.py keeps them in step).
package enum Version {
    package static let string = "0.2.0"
    /// MAJOR * 1000000 + MINOR * 1000 + PATCH, as PASSAUTH_VERSION_NUMBER.
    package static let number: Int32 = 2000
}
