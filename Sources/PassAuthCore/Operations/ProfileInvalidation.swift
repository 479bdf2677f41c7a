/// Profile errors invalidate what is stored (the enhanced error codes page: handle them the same at
/// top level and item level, whatever the API): "authenticated_profile_missing", "_expired" and
/// "_invalidated" drop the device's stored profile for that MVPD and its cached permits, so the next
/// passauth_profiles_stored / passauth_profile_pick says "log in again" instead of answering from a
/// dead profile.
extension Client {
    /// Runs `body`; a top-level profile-gone error forgets the device's profile for `mvpd` (all of the
    /// device's profiles when the call names no MVPD) before it is rethrown.
    func withProfileInvalidation<T>(device: Device, mvpd: String?, _ body: () throws(PassAuthError) -> T) throws(PassAuthError) -> T {
        do throws(PassAuthError) {
            return try body()
        } catch {
            if let code = error.code, RetryPolicy.profileGoneCodes.contains(code) {
                forgetProfileEverywhere(device: device, mvpd: mvpd, because: code)
            }
            throw error
        }
    }

    /// Drops the stored profile and the cached permits. A store failure here is logged, not thrown:
    /// the caller's error (the service's verdict) is the one that matters.
    func forgetProfileEverywhere(device: Device, mvpd: String?, because code: String) {
        guard let id = device.id else { return }
        decisionCache.removeAll(device: id, mvpd: mvpd)
        fleetEvents?.publish("profileGone", device: id, mvpd: mvpd)
        do throws(PassAuthError) {
            if let mvpd { try forgetProfile(device: device, mvpd: mvpd) } else { try forgetProfiles(device: device) }
        } catch {
            logger.log(.warn, "device \(id): the service answered \(code) but the stored profile could not be dropped: \(error.message)")
        }
        logger.log(.info, "device \(id): \(code); stored profile\(mvpd.map { " for \($0)" } ?? "s") and cached permits dropped")
    }
}
