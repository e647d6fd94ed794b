//! the edge: auth, REST and gRPC-web, audio delivery, the web player
