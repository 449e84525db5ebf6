pub use retort_core::*;
