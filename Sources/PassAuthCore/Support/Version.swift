/// The library version, kept in step with the SONAME (major) and the Makefile's VERSION.
public enum Version {
    public static let string = "0.1.0"
}
