//! Support for the end-to-end tests: throwaway projects with their own
//! atmos.yaml and database in a temp dir, the real `atmos` binary run in them
//! with a clean environment, and (in `fake_provider`) a fake AI provider on
//! 127.0.0.1 that speaks each provider's wire format.

pub mod fake_provider;
pub mod project;
pub mod rpc_client;
pub mod screenshot;
