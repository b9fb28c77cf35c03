/**
 * A private PostgreSQL started on a restored data folder for a restore test: run as an
 * unprivileged OS user (never root: as root, through `runuser -u <user> --`), reachable only
 * through a Unix socket in a 0700 folder (no TCP listener, so its trust authentication is
 * open to nobody else), and never outliving the process that started it: a detached watchdog
 * stops it and removes the scratch folder if n8n dies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { BackupError } from '../../errors';
import type { Owner } from './extract';
import { runTool } from './tools';

export const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** uid and gid of an OS user (for the files of the scratch cluster). */
export async function lookupUser(user: string): Promise<Owner> {
	const uid = await runTool('id', ['-u', user], { timeoutMs: 30_000 });
	const gid = await runTool('id', ['-g', user], { timeoutMs: 30_000 });
	if (uid.code !== 0 || gid.code !== 0)
		throw new BackupError(
			'INVALID_INPUT',
			`There is no OS user "${user}" on the n8n host to run the scratch PostgreSQL as`,
			'PostgreSQL refuses to run as root: name an existing unprivileged user (Debian\'s postgresql package creates "postgres").',
		);
	return { uid: Number(uid.output.text()), gid: Number(gid.output.text()) };
}

/** The command line that runs `file` as `user` when we are root, else as ourselves. */
export function asUser(user: string | undefined, file: string, args: string[]): [string, string[]] {
	return user ? ['runuser', ['-u', user, '--', file, ...args]] : [file, args];
}

/** Checks that `user` can write `folder` (a private parent folder, such as /root, would stop it). */
export async function requireUserCanWrite(user: string, folder: string): Promise<void> {
	const result = await runTool('runuser', ['-u', user, '--', 'test', '-w', folder], { cwd: '/', timeoutMs: 30_000 });
	if (result.code !== 0)
		throw new BackupError(
			'STAGING_FOLDER',
			`The OS user "${user}" cannot write to the scratch folder ${folder}`,
			`Choose a scratch folder whose parent folders "${user}" may enter (for example under /var/tmp), or give it access.`,
		);
}

/** A value for postgresql.conf, single-quoted. */
export const confString = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

export interface ScratchServerOptions {
	binDir: string;
	dataDir: string;
	socketDir: string;
	logFile: string;
	port: number;
	/** OS user to run as (when we are root). */
	user?: string;
	onExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

export interface ScratchServer {
	child: ChildProcess;
	/** Settles with the exit code when the postmaster exits (also after a FATAL during recovery). */
	exited: Promise<number | null>;
	hasExited(): boolean;
}

/** Starts `postgres -D` in the foreground as a child, its output appended to the log file. */
export async function startServer(options: ScratchServerOptions): Promise<ScratchServer> {
	const log = await open(options.logFile, 'a', 0o600);
	try {
		const [cmd, args] = asUser(options.user, join(options.binDir, 'postgres'), ['-D', options.dataDir]);
		const child = spawn(cmd, args, {
			cwd: tmpdir(),
			stdio: ['ignore', log.fd, log.fd],
			env: { PATH: process.env.PATH, LANG: 'C', LC_ALL: 'C', TZ: 'UTC' },
		});
		let done = false;
		const exited = new Promise<number | null>((resolve) => {
			child.on('error', () => {
				done = true;
				resolve(null);
			});
			child.on('exit', (code, signal) => {
				done = true;
				options.onExit?.(code, signal);
				resolve(code);
			});
		});
		return { child, exited, hasExited: () => done };
	} finally {
		// The child has its own copy of the descriptor.
		await log.close();
	}
}

/** Fast shutdown, then immediate; waits (bounded) for the postmaster to exit. */
export async function stopServer(server: ScratchServer, options: ScratchServerOptions): Promise<void> {
	if (server.hasExited()) return;
	const pgCtl = join(options.binDir, 'pg_ctl');
	for (const mode of ['fast', 'immediate']) {
		if (server.hasExited() || !existsSync(join(options.dataDir, 'postmaster.pid'))) break;
		const [cmd, args] = asUser(options.user, pgCtl, ['stop', '-D', options.dataDir, '-m', mode, '-w', '-t', '60']);
		const result = await runTool(cmd, args, { timeoutMs: 90_000, cwd: tmpdir() });
		if (result.code === 0) break;
	}
	const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 30_000).unref());
	if ((await Promise.race([server.exited, timeout])) === 'timeout') server.child.kill('SIGKILL');
}

/**
 * A detached shell that waits for this process to die and then stops the scratch server and
 * removes the scratch folder: covers deaths no finally block sees (SIGKILL, OOM killer). Paths
 * travel as positional parameters, never inside the script text. Returns its pid, to end it.
 */
export function startWatchdog(options: ScratchServerOptions, scratchFolder: string): number | undefined {
	const script = [
		'parent=$1; pgctl=$2; data=$3; dir=$4; user=$5',
		'trap "exit 0" TERM',
		// `wait` returns at once on a trapped signal, so a stopped watchdog goes away at once.
		'while kill -0 "$parent" 2>/dev/null; do sleep 1 & wait $!; done',
		'if [ -f "$data/postmaster.pid" ]; then',
		'  if [ -n "$user" ]; then runuser -u "$user" -- "$pgctl" stop -D "$data" -m immediate -w;',
		'  else "$pgctl" stop -D "$data" -m immediate -w; fi',
		'fi >/dev/null 2>&1',
		'rm -rf "$dir"',
	].join('\n');
	const child = spawn(
		'/bin/sh',
		[
			'-c',
			script,
			'totvs-pitr-watchdog',
			String(process.pid),
			join(options.binDir, 'pg_ctl'),
			options.dataDir,
			scratchFolder,
			options.user ?? '',
		],
		{ detached: true, stdio: 'ignore', cwd: tmpdir() },
	);
	child.unref();
	return child.pid;
}

export function stopWatchdog(pid: number | undefined): void {
	if (!pid) return;
	try {
		process.kill(pid, 'SIGTERM');
	} catch {
		// already gone
	}
}

/** Bound on one statement against the scratch cluster (the ERP checks count whole tables). */
export const SCRATCH_STATEMENT_TIMEOUT_MS = 30 * 60 * 1000;

/** A client on the scratch server's socket (trust authentication, as its bootstrap superuser). */
export function socketClient(options: ScratchServerOptions, user: string, database: string): Client {
	const client = new Client({
		host: options.socketDir,
		port: options.port,
		user,
		database,
		application_name: 'n8n-nodes-totvs-backup restore test',
		connectionTimeoutMillis: 10_000,
		// A check on the recovered database never hangs the restore test (the server bounds a
		// statement; the client bounds the answer if the server stops answering at all).
		statement_timeout: SCRATCH_STATEMENT_TIMEOUT_MS,
		query_timeout: SCRATCH_STATEMENT_TIMEOUT_MS + 60_000,
	});
	client.on('error', () => undefined);
	return client;
}

export async function logTail(logFile: string, lines = 20): Promise<string> {
	try {
		return (await readFile(logFile, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
	} catch {
		return '(no server log)';
	}
}
