//! Placeholder removed below once the scim2-server harness lands.
