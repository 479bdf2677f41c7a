/// Conversions and sums on values that come from callers, the service or the clock: they saturate
/// instead of trapping (Swift's Int64(Double) and + trap on overflow, NaN and infinities).
extension Int64 {
    /// `value` rounded up, clamped to Int64's range (NaN counts as +infinity: "longer than anything").
    init(saturatingCeil value: Double) {
        if value.isNaN || value >= 9.2e18 { self = .max } else if value <= -9.2e18 { self = .min } else { self = Int64(value.rounded(.up)) }
    }

    /// `self + other`, clamped to Int64's range.
    func addingSaturated(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}

extension Int {
    /// `value` rounded up, clamped to Int's range (NaN counts as +infinity).
    init(saturatingCeil value: Double) { self = Int(Int64(saturatingCeil: value)) }
}
