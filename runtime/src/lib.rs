//! the standard service runtime: settings, telemetry, admin HTTP, gRPC server, error codes
