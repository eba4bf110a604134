//! [`PgInstance`]: a throwaway PostgreSQL server of the installed version, for suites that need
//! settings the shared server does not have (`wal_level = logical`, replicas, TLS).
//!
//! ```no_run
//! use storehaus_suite::pg_instance::PgInstance;
//!
//! let Some(server) = PgInstance::try_start(&[("wal_level", "logical")]) else { return };
//! let url = server.url(); // postgres://postgres@127.0.0.1:PORT/postgres, trust auth
//! // … the server is stopped and its directory removed when `server` is dropped.
//! ```
//!
//! The binaries are the newest of `/usr/lib/postgresql/*/bin` (or the directory
//! `STOREHAUS_PG_BIN` names). Run as root, `initdb` and `pg_ctl` run as user `postgres`.

use std::ffi::OsStr;
use std::fmt;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Where Debian and Ubuntu install the server, one directory per major version.
const INSTALL_ROOT: &str = "/usr/lib/postgresql";

/// Settings of every instance, before the caller's: local TCP only, the socket inside the data
/// directory (no clash with the shared server's), and no waiting for the disk.
const BASE_SETTINGS: &[(&str, &str)] = &[("listen_addresses", "127.0.0.1"), ("fsync", "off")];

/// Attempts with a new port, in case another process took the free port first.
const ATTEMPTS: usize = 3;

/// Instances started by this process, to tell their directories apart.
static STARTED: AtomicU32 = AtomicU32::new(0);

/// A PostgreSQL server in a temporary directory on a free loopback port; stopped
/// (`pg_ctl stop -m immediate`) and removed on drop.
pub struct PgInstance {
    bin: PathBuf,
    /// The temporary directory; the cluster is its `data` folder.
    root: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl PgInstance {
    /// Starts a server with `settings` added to `postgresql.conf`; panics with the reason when
    /// it cannot.
    pub fn start(settings: &[(&str, &str)]) -> PgInstance {
        match Self::launch(settings) {
            Ok(instance) => instance,
            Err(reason) => panic!("cannot start a PostgreSQL instance: {reason}"),
        }
    }

    /// [`start`](Self::start), or `None` after a loud `SKIPPED` line when no server can be
    /// started; panics instead when `CI` or `STOREHAUS_REQUIRE_SERVICES` is set.
    pub fn try_start(settings: &[(&str, &str)]) -> Option<PgInstance> {
        match Self::launch(settings) {
            Ok(instance) => Some(instance),
            Err(reason) if storehaus::testing::require_services() => panic!(
                "cannot start a PostgreSQL instance: {reason}\n\
                 (CI or STOREHAUS_REQUIRE_SERVICES is set, so this test fails instead of skipping)"
            ),
            Err(reason) => {
                eprintln!("\n*** SKIPPED: cannot start a PostgreSQL instance: {reason}\n");
                None
            }
        }
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`; any password is accepted (trust).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The server's TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn launch(settings: &[(&str, &str)]) -> Result<PgInstance, String> {
        let bin = binaries()?;
        let as_postgres = run_output(Command::new("id").arg("-u"))?.trim() == "0";
        let serial = STARTED.fetch_add(1, Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!("storehaus-pg-{}-{serial}", std::process::id()));
        // Built in full before anything can fail, so that drop removes what was made.
        let mut instance = PgInstance { bin, root, port: 0, as_postgres };
        std::fs::create_dir_all(&instance.root).map_err(|e| format!("creating {}: {e}", instance.root.display()))?;
        if as_postgres {
            run_output(Command::new("chown").arg("postgres").arg(&instance.root))?;
        }
        let data = instance.data_dir();
        instance.run(
            "initdb",
            [
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "-A".as_ref(),
                "trust".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--locale=C".as_ref(),
                "--no-sync".as_ref(),
            ],
        )?;
        let base = std::fs::read_to_string(data.join("postgresql.conf")).map_err(|e| e.to_string())?;
        let mut last_error = String::new();
        for _ in 0..ATTEMPTS {
            instance.port = free_port()?;
            let socket_dir = data.to_string_lossy().into_owned();
            let port = instance.port.to_string();
            let ours = [("port", port.as_str()), ("unix_socket_directories", socket_dir.as_str())];
            let lines: String = BASE_SETTINGS
                .iter()
                .chain(&ours)
                .chain(settings)
                .map(|(name, value)| format!("{name} = '{}'\n", value.replace('\'', "''")))
                .collect();
            std::fs::write(data.join("postgresql.conf"), format!("{base}\n{lines}")).map_err(|e| e.to_string())?;
            let log = instance.root.join("server.log");
            let started = instance.run(
                "pg_ctl",
                [
                    "-D".as_ref(),
                    data.as_os_str(),
                    "-l".as_ref(),
                    log.as_os_str(),
                    "-w".as_ref(),
                    "-t".as_ref(),
                    "60".as_ref(),
                    "start".as_ref(),
                ],
            );
            match started {
                Ok(_) => return Ok(instance),
                Err(e) => {
                    let server_log = std::fs::read_to_string(&log).unwrap_or_default();
                    last_error = format!("{e}\nserver log:\n{server_log}");
                }
            }
        }
        Err(last_error)
    }

    /// Runs the server program `program` with `args`, as `postgres` when we are root.
    fn run<'a>(&self, program: &str, args: impl IntoIterator<Item = &'a OsStr>) -> Result<String, String> {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&path);
            command
        } else {
            Command::new(&path)
        };
        command.args(args);
        run_output(&mut command)
    }
}

impl Drop for PgInstance {
    fn drop(&mut self) {
        let data = self.data_dir();
        if data.join("postmaster.pid").exists() {
            let stop = ["-D".as_ref(), data.as_os_str(), "-m".as_ref(), "immediate".as_ref(), "stop".as_ref()];
            if let Err(e) = self.run("pg_ctl", stop) {
                eprintln!("could not stop the PostgreSQL instance in {}: {e}", self.root.display());
            }
        }
        if let Err(e) = std::fs::remove_dir_all(&self.root) {
            eprintln!("could not remove {}: {e}", self.root.display());
        }
    }
}

impl fmt::Debug for PgInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgInstance").field("port", &self.port).field("root", &self.root).finish()
    }
}

/// The directory of `initdb` and `pg_ctl`: `STOREHAUS_PG_BIN`, or the newest installed version.
fn binaries() -> Result<PathBuf, String> {
    if let Some(bin) = std::env::var_os("STOREHAUS_PG_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let versions = std::fs::read_dir(INSTALL_ROOT).map_err(|e| format!("no PostgreSQL in {INSTALL_ROOT}: {e}"))?;
    let newest = versions
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version);
    newest.map(|(_, bin)| bin).ok_or_else(|| format!("no {INSTALL_ROOT}/*/bin/initdb"))
}

/// A loopback port nothing listens on right now.
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| e.to_string())?;
    listener.local_addr().map(|address| address.port()).map_err(|e| e.to_string())
}

/// Runs `command`; its standard output, or an error with its output when it fails.
fn run_output(command: &mut Command) -> Result<String, String> {
    let program = Path::new(command.get_program()).display().to_string();
    let output = command.output().map_err(|e| format!("{program}: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(format!("{program} failed ({}):\n{stdout}{stderr}", output.status))
}
