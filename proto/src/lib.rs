//! protobuf contracts of tunemesh and the stubs generated from them
