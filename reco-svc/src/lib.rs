//! reco-svc
