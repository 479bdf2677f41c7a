extension Client {
    /// `GET /api/v2/{serviceProvider}/configuration`: the MVPDs integrated with the service provider.
    public func configuration(device: Device) throws(PassAuthError) -> JSON {
        try service.call(Operation(method: "GET", path: "/api/v2/\(serviceProviderSegment)/configuration",
                                   endpoint: "configuration", requiresDeviceId: false), device: device)
    }
}
