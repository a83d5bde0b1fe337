#![warn(missing_docs)]
//! weft
