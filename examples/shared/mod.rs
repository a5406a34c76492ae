//! Code the example servers share.
#![allow(dead_code)]

pub mod echo;
pub mod smol_server;
