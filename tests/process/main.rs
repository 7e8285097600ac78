//! Process-level tests: the built `user-service` binary, killed, restarted,
//! backed up and misconfigured for real.

mod backup;
mod cli;
mod crash;
mod fuzz;
mod overload;
mod server;
mod shutdown;
mod stderr;
mod tls;
mod transfer;
