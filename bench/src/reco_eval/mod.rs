//! The offline evaluation of reco-svc's model (`src/bin/reco_eval.rs`): the data and its
//! split ([`movielens`]), the metrics and baselines ([`baselines`]), and the model fed through
//! the consumer's code ([`feed`]).

pub mod baselines;
pub mod feed;
pub mod movielens;
