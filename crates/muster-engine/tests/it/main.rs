//! The engine end to end, against the SCIM simulator and a real third-party SCIM server.

mod fixture;
mod interop;
mod scenarios;
