//! The browser side of `muster serve`.

pub mod oidc;
pub mod session;
pub mod signin;
