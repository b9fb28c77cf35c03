/**
 * Starts a real PostgreSQL server (Debian's package) in a temporary folder on a free loopback
 * port, for tests, benchmarks and the demo.
 *
 * - The server refuses to run as root, so as root every server command goes through
 *   `runuser -u postgres --` and the folder is given to the `postgres` user.
 * - TCP and socket logins need the superuser's password (scram-sha-256), like a real site;
 *   the password reaches initdb through a 0600 file, never argv.
 * - A server never outlives the process that started it: an 'exit' hook stops it, and a
 *   detached watchdog stops it if that process is killed outright (SIGKILL, OOM, CI timeout).
 */
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp, existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

/** Where Debian installs each major version's server binaries. */
const DEBIAN_PG_ROOT = '/usr/lib/postgresql';

/** Everything a client (or pg_dump) needs to reach a test server. Serializable. */
export interface PgConnectionInfo {
	host: string;
	port: number;
	/** Superuser name. */
	user: string;
	/** Superuser password. */
	password: string;
	/** Folder with this server's own binaries (pg_dump, pg_restore, psql, …). */
	binDir: string;
	dataDir: string;
}

/** A reachable server with helpers; what test files get from the shared server. */
export interface PgAdmin extends PgConnectionInfo {
	/** A connected client as the superuser; the caller must `end()` it. */
	connect(database?: string): Promise<pg.Client>;
	/** Runs one statement as the superuser on its own connection; returns the rows. */
	admin<R extends pg.QueryResultRow = pg.QueryResultRow>(
		sql: string,
		database?: string,
		params?: unknown[],
	): Promise<R[]>;
}

/** What stopping a server needs; written to a file so another module can stop it. */
export interface PgStopInfo {
	binDir: string;
	dataDir: string;
	/** The temporary folder removed after the stop (holds dataDir, socket and log). */
	tempDir: string;
	/** True when server commands must run through `runuser -u postgres`. */
	asPostgres: boolean;
	watchdogPid?: number;
}

export interface PgServer extends PgAdmin {
	/** Major version, e.g. "15". */
	version: string;
	tempDir: string;
	socketDir: string;
	logFile: string;
	/** Plain data for JSON (no functions). */
	info(): PgConnectionInfo;
	stopInfo(): PgStopInfo;
	/** `pg_ctl stop -m fast`, then removes the temporary folder. Safe to call twice. */
	stop(): Promise<void>;
}

export interface StartPostgresOptions {
	/** Bootstrap superuser name (default `postgres`). */
	user?: string;
	/** Superuser password (default: random). */
	password?: string;
	/** Folder with initdb/pg_ctl (default: newest /usr/lib/postgresql/<ver>/bin, or $TOTVS_PG_BIN_DIR). */
	binDir?: string;
	/**
	 * Keep fsync and full-page writes on. Off by default: test data is disposable and the
	 * fixture loads gigabytes.
	 */
	durable?: boolean;
	/** Extra postgresql.conf settings, e.g. `{ wal_level: 'minimal', max_wal_senders: '0' }`. */
	settings?: Record<string, string | number | boolean>;
	/** How long to wait for the server to accept connections (default 60 s). */
	startTimeoutMs?: number;
}

export interface CreateRoleOptions {
	/** Default true. */
	login?: boolean;
	superuser?: boolean;
	createdb?: boolean;
	replication?: boolean;
	/** Roles to grant, e.g. `['pg_read_all_data']` for a read-only backup user. */
	memberOf?: string[];
	connectionLimit?: number;
}

/** Newest PostgreSQL server binaries installed, or a clear error saying how to install them. */
export function findPostgresBinDir(): string {
	const override = process.env.TOTVS_PG_BIN_DIR;
	if (override) {
		if (!existsSync(path.join(override, 'initdb'))) {
			throw new Error(`TOTVS_PG_BIN_DIR=${override} has no initdb.`);
		}
		return override;
	}
	const versions = existsSync(DEBIAN_PG_ROOT)
		? readdirSync(DEBIAN_PG_ROOT)
				.filter((v) => /^\d+(\.\d+)?$/.test(v))
				.filter((v) => existsSync(path.join(DEBIAN_PG_ROOT, v, 'bin', 'initdb')))
				.sort((a, b) => Number(b) - Number(a))
		: [];
	if (versions.length === 0) {
		throw new Error(
			`PostgreSQL server binaries not found (no ${DEBIAN_PG_ROOT}/<version>/bin/initdb). ` +
				'Tests need a real server: run `.ci/run` as root, or ' +
				'`apt-get install postgresql postgresql-contrib`.',
		);
	}
	return path.join(DEBIAN_PG_ROOT, versions[0], 'bin');
}

function isRoot(): boolean {
	return typeof process.getuid === 'function' && process.getuid() === 0;
}

interface RunResult {
	stdout: string;
	stderr: string;
}

/** Environment for server commands: our settings must win over a developer's PG* variables. */
function serverEnv(): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = {};
	for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
	env.LC_ALL = 'C';
	env.LANG = 'C';
	return env;
}

function run(
	file: string,
	args: string[],
	opts: { asPostgres: boolean; cwd: string; timeoutMs?: number },
): Promise<RunResult> {
	const [cmd, argv] = opts.asPostgres ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
	return new Promise((resolve, reject) => {
		execFile(
			cmd,
			argv,
			{ cwd: opts.cwd, env: serverEnv(), timeout: opts.timeoutMs ?? 120_000, maxBuffer: 16 << 20 },
			(error, stdout, stderr) => {
				if (error) {
					const detail = `${stderr}${stdout}`.trim();
					reject(
						new Error(
							`${path.basename(file)} ${args.join(' ')} failed: ${error.message}${detail ? `\n${detail}` : ''}`,
						),
					);
				} else resolve({ stdout, stderr });
			},
		);
	});
}

/** A port the kernel says is free now (it may be taken before we bind it: callers retry). */
export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const srv = net.createServer();
		srv.unref();
		srv.on('error', reject);
		srv.listen(0, '127.0.0.1', () => {
			const address = srv.address();
			const port = typeof address === 'object' && address ? address.port : 0;
			srv.close(() => (port ? resolve(port) : reject(new Error('could not read a free port'))));
		});
	});
}

// ---------------------------------------------------------------------------------------------
// Cleanup: every live server is stopped when this process exits, however it exits.

const live = new Map<string, PgStopInfo>();
let exitHookInstalled = false;

function installExitHook(): void {
	if (exitHookInstalled) return;
	exitHookInstalled = true;
	// 'exit' handlers must be synchronous; immediate mode because the process is going away.
	process.on('exit', () => {
		for (const info of live.values()) stopSync(info);
		live.clear();
	});
}

function pgCtlCommand(info: PgStopInfo, args: string[]): [string, string[]] {
	const pgCtl = path.join(info.binDir, 'pg_ctl');
	return info.asPostgres ? ['runuser', ['-u', 'postgres', '--', pgCtl, ...args]] : [pgCtl, args];
}

function killWatchdog(info: PgStopInfo): void {
	if (!info.watchdogPid) return;
	try {
		process.kill(info.watchdogPid, 'SIGTERM');
	} catch {
		// already gone
	}
}

function stopSync(info: PgStopInfo): void {
	killWatchdog(info);
	if (existsSync(path.join(info.dataDir, 'postmaster.pid'))) {
		const [cmd, args] = pgCtlCommand(info, ['stop', '-D', info.dataDir, '-m', 'immediate', '-w', '-t', '30']);
		spawnSync(cmd, args, { stdio: 'ignore', cwd: os.tmpdir(), env: serverEnv() });
	}
	rmSync(info.tempDir, { recursive: true, force: true });
}

/**
 * Stops a server from its stop info (e.g. read back from a file by jest's globalTeardown)
 * and removes its folder. Safe when it is already stopped.
 */
export async function stopPostgresByInfo(info: PgStopInfo): Promise<void> {
	live.delete(info.tempDir);
	killWatchdog(info);
	if (existsSync(path.join(info.dataDir, 'postmaster.pid'))) {
		const [cmd, args] = pgCtlCommand(info, ['stop', '-D', info.dataDir, '-m', 'fast', '-w', '-t', '60']);
		await new Promise<void>((resolve) => {
			execFile(cmd, args, { cwd: os.tmpdir(), env: serverEnv() }, (error) => {
				// A failed fast stop (should not happen) falls back to immediate, so nothing is left.
				if (error) stopSync(info);
				resolve();
			});
		});
	}
	await fsp.rm(info.tempDir, { recursive: true, force: true });
}

/**
 * A detached shell that waits for `parentPid` to die and then stops the server. Covers the
 * deaths the 'exit' hook cannot see (SIGKILL, OOM killer, an unhandled fatal signal).
 * Paths travel as positional parameters, never inside the script text.
 */
function startWatchdog(info: PgStopInfo): number | undefined {
	const script = [
		'parent=$1; pgctl=$2; data=$3; dir=$4; as_postgres=$5',
		'trap "exit 0" TERM',
		'while kill -0 "$parent" 2>/dev/null; do sleep 1; done',
		'if [ -f "$data/postmaster.pid" ]; then',
		'  if [ "$as_postgres" = 1 ]; then runuser -u postgres -- "$pgctl" stop -D "$data" -m immediate -w;',
		'  else "$pgctl" stop -D "$data" -m immediate -w; fi',
		'fi >/dev/null 2>&1',
		'rm -rf "$dir"',
	].join('\n');
	const child = spawn(
		'/bin/sh',
		[
			'-c',
			script,
			'pg-watchdog',
			String(process.pid),
			path.join(info.binDir, 'pg_ctl'),
			info.dataDir,
			info.tempDir,
			info.asPostgres ? '1' : '0',
		],
		{ detached: true, stdio: 'ignore', cwd: os.tmpdir(), env: serverEnv() },
	);
	child.unref();
	return child.pid;
}

// ---------------------------------------------------------------------------------------------

function quoteConf(value: string | number | boolean): string {
	if (typeof value !== 'string') return String(value);
	return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

function clientConfig(info: PgConnectionInfo, database: string): pg.ClientConfig {
	return {
		host: info.host,
		port: info.port,
		user: info.user,
		password: info.password,
		database,
		application_name: 'totvs-backup-tests',
		connectionTimeoutMillis: 15_000,
	};
}

/** Helpers bound to any reachable server described by `info` (used for the shared server too). */
export function adminFor(info: PgConnectionInfo): PgAdmin {
	const connect = async (database = 'postgres'): Promise<pg.Client> => {
		const client = new pg.Client(clientConfig(info, database));
		await client.connect();
		return client;
	};
	return {
		...info,
		connect,
		async admin<R extends pg.QueryResultRow = pg.QueryResultRow>(
			sql: string,
			database = 'postgres',
			params?: unknown[],
		) {
			const client = await connect(database);
			try {
				// Several statements in one string give one result each: return the last one's rows.
				const result: pg.QueryResult<R> | pg.QueryResult<R>[] = await client.query<R>(sql, params);
				return Array.isArray(result) ? (result[result.length - 1]?.rows ?? []) : result.rows;
			} finally {
				await client.end();
			}
		},
	};
}

/** PG* variables for spawning this server's client tools (pg_dump, psql) without argv secrets. */
export function pgEnv(info: PgConnectionInfo, database = 'postgres'): Record<string, string> {
	return {
		PGHOST: info.host,
		PGPORT: String(info.port),
		PGUSER: info.user,
		PGPASSWORD: info.password,
		PGDATABASE: database,
	};
}

async function waitForConnection(info: PgConnectionInfo, timeoutMs: number): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const client = new pg.Client(clientConfig(info, 'postgres'));
		try {
			await client.connect();
			await client.query('SELECT 1');
			await client.end();
			return;
		} catch (error) {
			await client.end().catch(() => undefined);
			if (Date.now() > deadline) throw error;
			await new Promise((r) => setTimeout(r, 200));
		}
	}
}

function tail(file: string, lines = 30): string {
	try {
		return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
	} catch {
		return '(no log)';
	}
}

/**
 * A new folder the server's user can write. As root, TMPDIR may be private (under /root, say),
 * so the postgres user is asked to write there, and /tmp is used when it cannot.
 */
async function makeServerDir(owner: { uid: number; gid: number } | undefined): Promise<string> {
	const bases = owner && os.tmpdir() !== '/tmp' ? [os.tmpdir(), '/tmp'] : [os.tmpdir()];
	for (const base of bases) {
		const dir = await fsp.mkdtemp(path.join(base, 'totvs-pg-'));
		if (!owner) return dir;
		await fsp.chown(dir, owner.uid, owner.gid);
		if (spawnSync('runuser', ['-u', 'postgres', '--', 'test', '-w', dir], { cwd: '/' }).status === 0) return dir;
		await fsp.rm(dir, { recursive: true, force: true });
	}
	throw new Error(`The postgres user cannot write to a folder under ${bases.join(' or ')}.`);
}

export async function startPostgres(opts: StartPostgresOptions = {}): Promise<PgServer> {
	const binDir = opts.binDir ?? findPostgresBinDir();
	const version = path.basename(path.dirname(binDir));
	const user = opts.user ?? 'postgres';
	const password = opts.password ?? randomBytes(18).toString('base64url');
	const asPostgres = isRoot();
	const startTimeoutMs = opts.startTimeoutMs ?? 60_000;

	let owner: { uid: number; gid: number } | undefined;
	if (asPostgres) {
		try {
			const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
			const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
			owner = { uid, gid };
		} catch {
			throw new Error(
				'Running as root but there is no `postgres` system user to run the server as ' +
					"(Debian's postgresql package creates it): run `apt-get install postgresql`.",
			);
		}
	}

	const tempDir = await makeServerDir(owner);
	const dataDir = path.join(tempDir, 'data');
	const socketDir = path.join(tempDir, 'sock');
	const logFile = path.join(tempDir, 'postgres.log');
	const pwFile = path.join(tempDir, 'pwfile');
	const stopInfo: PgStopInfo = { binDir, dataDir, tempDir, asPostgres };
	// Registered before anything runs, so a failure half-way still cleans up.
	installExitHook();
	live.set(tempDir, stopInfo);

	try {
		await fsp.mkdir(socketDir, { mode: 0o700 });
		await fsp.writeFile(pwFile, `${password}\n`, { mode: 0o600 });
		if (owner) for (const p of [socketDir, pwFile]) await fsp.chown(p, owner.uid, owner.gid);

		await run(
			path.join(binDir, 'initdb'),
			[
				'-D',
				dataDir,
				'-U',
				user,
				'--pwfile',
				pwFile,
				'-A',
				'scram-sha-256',
				'--locale',
				'C',
				'-E',
				'UTF8',
				...(opts.durable ? [] : ['--no-sync']),
			],
			{ asPostgres, cwd: tempDir },
		);
		await fsp.rm(pwFile, { force: true });

		// Our settings live in an included file (rewritten on each port try) rather than in
		// `pg_ctl -o`, which pg_ctl passes through a shell.
		await fsp.appendFile(path.join(dataDir, 'postgresql.conf'), "\ninclude_if_exists = 'harness.conf'\n");

		const baseSettings: Record<string, string | number | boolean> = {
			listen_addresses: '127.0.0.1',
			unix_socket_directories: socketDir,
			max_connections: 100,
			// Bulk fixture loads would otherwise checkpoint every few hundred MB.
			max_wal_size: '4GB',
			checkpoint_timeout: '30min',
			timezone: 'UTC',
			...(opts.durable ? {} : { fsync: 'off', full_page_writes: 'off', synchronous_commit: 'off' }),
			...opts.settings,
		};

		let port = 0;
		for (let attempt = 1; ; attempt++) {
			port = await freePort();
			const conf = Object.entries({ ...baseSettings, port })
				.map(([k, v]) => `${k} = ${quoteConf(v)}`)
				.join('\n');
			const confPath = path.join(dataDir, 'harness.conf');
			await fsp.writeFile(confPath, `${conf}\n`, { mode: 0o600 });
			if (owner) await fsp.chown(confPath, owner.uid, owner.gid);
			try {
				await run(
					path.join(binDir, 'pg_ctl'),
					['start', '-D', dataDir, '-l', logFile, '-w', '-t', String(Math.ceil(startTimeoutMs / 1000))],
					{ asPostgres, cwd: tempDir, timeoutMs: startTimeoutMs + 10_000 },
				);
				break;
			} catch (error) {
				const log = tail(logFile);
				// Another process took the port between freePort() and the bind: try another one.
				if (attempt < 5 && /could not bind|Address already in use|could not create any TCP\/IP sockets/i.test(log)) {
					continue;
				}
				throw new Error(`${(error as Error).message}\n--- ${logFile} ---\n${log}`);
			}
		}

		const info: PgConnectionInfo = { host: '127.0.0.1', port, user, password, binDir, dataDir };
		stopInfo.watchdogPid = startWatchdog(stopInfo);
		await waitForConnection(info, startTimeoutMs);

		let stopped: Promise<void> | undefined;
		return {
			...adminFor(info),
			version,
			tempDir,
			socketDir,
			logFile,
			info: () => ({ ...info }),
			stopInfo: () => ({ ...stopInfo }),
			stop: () => (stopped ??= stopPostgresByInfo(stopInfo)),
		};
	} catch (error) {
		live.delete(tempDir);
		stopSync(stopInfo);
		throw error;
	}
}

/** Creates a role with a password (scram, sent as SQL over the connection, not argv). */
export async function createRole(
	server: PgAdmin,
	name: string,
	password: string,
	opts: CreateRoleOptions = {},
): Promise<void> {
	const attrs = [
		opts.login === false ? 'NOLOGIN' : 'LOGIN',
		opts.superuser ? 'SUPERUSER' : 'NOSUPERUSER',
		opts.createdb ? 'CREATEDB' : 'NOCREATEDB',
		opts.replication ? 'REPLICATION' : 'NOREPLICATION',
		opts.connectionLimit !== undefined ? `CONNECTION LIMIT ${Math.trunc(opts.connectionLimit)}` : '',
		`PASSWORD ${pg.escapeLiteral(password)}`,
	].filter(Boolean);
	const client = await server.connect();
	try {
		await client.query(`CREATE ROLE ${pg.escapeIdentifier(name)} ${attrs.join(' ')}`);
		for (const role of opts.memberOf ?? []) {
			await client.query(`GRANT ${pg.escapeIdentifier(role)} TO ${pg.escapeIdentifier(name)}`);
		}
	} finally {
		await client.end();
	}
}

/** Drops a role if it exists (it must own nothing: drop its databases first). */
export async function dropRole(server: PgAdmin, name: string): Promise<void> {
	await server.admin(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(name)}`);
}

/** True when a postmaster from this data folder is alive (used by tests of the harness itself). */
export function isRunning(dataDir: string): boolean {
	const pidFile = path.join(dataDir, 'postmaster.pid');
	if (!existsSync(pidFile)) return false;
	const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
	if (!Number.isInteger(pid) || pid <= 0) return false;
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		// EPERM: alive but owned by the postgres user while we are not root.
		return (error as NodeJS.ErrnoException).code === 'EPERM';
	}
}
