//! Set-up shared by several areas of the end-to-end tests, by domain:
//! casework (a case and the people around it), identity (accounts, sign-in,
//! codes read back from email and SMS) and tenancy (organisations,
//! properties, tenants, API tokens), and the real worker process.

pub mod casework;
pub mod identity;
pub mod tenancy;
pub mod worker;
