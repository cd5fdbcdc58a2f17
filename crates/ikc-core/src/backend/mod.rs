//! Where task data comes from. Today: procfs. Each backend fills `TaskInfo`
//! records; the dump and the visibility rule do not care which one did.

pub mod procfs;
