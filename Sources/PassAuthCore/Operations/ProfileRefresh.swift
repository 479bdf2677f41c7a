/// The profile refresh after an authorization (checklist, Profiles Caching: "Certain metadata attributes
/// may be updated during the Authorization Phase ... query the Profiles APIs again after authorization"):
/// one profiles-by-MVPD request on the HTTP thread, stored by the result thread, at most once per
/// "profileRefreshMs" per device and MVPD.
extension Client {
    func refreshProfileLater(device: Device, mvpd: String) {
        guard config.profileRefreshMs > 0, let id = device.id,
              profileRefreshes.admit(.init(device: id, mvpd: mvpd), periodMs: Int64(config.profileRefreshMs)) else { return }
        do throws(PassAuthError) {
            let (request, token) = try service.prepare(.profileForMVPD, argument: mvpd, device: device)
            let generation = refreshesInFlight.begin(id)
            service.submit(request) { [weak self] outcome in
                guard let self else { return }
                polls.enqueue { [weak self] in
                    guard let self else { return }
                    defer { refreshesInFlight.end(id) }
                    do throws(PassAuthError) {
                        let answer = try service.answer(outcome, to: .profileForMVPD, device: device, token: token)
                        try rememberProfiles(device, answer, stillWanted: { [refreshesInFlight] in refreshesInFlight.isCurrent(id, generation) })
                    } catch {
                        logger.log(.info, "profile refresh after authorization for device \(id), MVPD \(mvpd): \(error.message)")
                    }
                }
            }
        } catch {
            logger.log(.info, "profile refresh after authorization for device \(id), MVPD \(mvpd): \(error.message)")
        }
    }
}

/// The profile refreshes in flight, per device id. Dropping a device's stored profiles (logout, a
/// profile gone, here or on another instance of the fleet) starts a new generation, so a refresh
/// fetched before the drop never stores its answer after it. Only devices with a refresh in flight
/// have an entry.
final class RefreshesInFlight: Sendable {
    private struct Entry {
        var count = 0
        var generation: UInt64 = 0
    }

    private let entries = Locked<[String: Entry]>([:])

    /// A refresh for `device` starts; its generation.
    func begin(_ device: String) -> UInt64 {
        entries.withLock { entries in
            entries[device, default: Entry()].count += 1
            return entries[device]!.generation
        }
    }

    func end(_ device: String) {
        entries.withLock { entries in
            guard var entry = entries[device] else { return }
            entry.count -= 1
            entries[device] = entry.count > 0 ? entry : nil
        }
    }

    /// The device's stored profiles were dropped: refreshes in flight are stale.
    func dropped(_ device: String) {
        entries.withLock { entries in entries[device]?.generation &+= 1 }
    }

    func isCurrent(_ device: String, _ generation: UInt64) -> Bool {
        entries.withLock { $0[device]?.generation == generation }
    }
}
