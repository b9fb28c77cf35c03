import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readdir } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { BackupError } from '../../errors';
import { BoundedTail } from '../../pipeline/bounded-tail';
import { compareVersions, toolVersion, type ClientToolInfo } from '../postgres';

/** Client programs this engine runs against the source server. */
export type PitrClientTool = 'pg_basebackup' | 'pg_receivewal' | 'pg_verifybackup';

/** Where Debian/Ubuntu and the PGDG RPMs put each major version's programs. */
const versionedFolder = (major: number) => [`/usr/lib/postgresql/${major}/bin`, `/usr/pgsql-${major}/bin`];

async function executable(path: string): Promise<boolean> {
	try {
		await access(path, constants.X_OK);
		return true;
	} catch {
		return false;
	}
}

async function allVersionedFolders(): Promise<string[]> {
	const out: string[] = [];
	for (const [parent, pattern] of [
		['/usr/lib/postgresql', /^\d+$/],
		['/usr', /^pgsql-\d+$/],
	] as const) {
		try {
			for (const name of await readdir(parent)) if (pattern.test(name)) out.push(join(parent, name, 'bin'));
		} catch {
			// not this distribution's layout
		}
	}
	return out;
}

const installHint = (major: number) =>
	`Install the PostgreSQL ${major} client tools on the n8n host (Debian/Ubuntu: apt-get install postgresql-client-${major}; n8n Docker image: apk add postgresql${major}-client), or set the PostgreSQL client folder.`;

/**
 * Finds a client tool for a server of major `serverMajor`: in `folder` when one is named, else
 * the same major's versioned folder first, else the newest one on PATH or in versioned folders.
 * pg_basebackup and pg_receivewal stream from servers of their own major or older; a tool of
 * an older major refuses, so that is an error here already.
 */
export async function findPitrClient(
	tool: PitrClientTool,
	serverMajor: number,
	folder?: string,
): Promise<ClientToolInfo> {
	let found: ClientToolInfo | undefined;
	if (folder?.trim()) {
		const path = join(folder.trim(), tool);
		if (!(await executable(path)))
			throw new BackupError('CLIENT_NOT_FOUND', `${tool} was not found in ${folder.trim()}`, installHint(serverMajor));
		found = await toolVersion(path);
	} else {
		for (const candidate of versionedFolder(serverMajor)) {
			if (await executable(join(candidate, tool))) return toolVersion(join(candidate, tool));
		}
		const folders = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...(await allVersionedFolders())];
		for (const candidate of new Set(folders)) {
			const path = join(candidate, tool);
			if (!(await executable(path))) continue;
			try {
				const info = await toolVersion(path);
				if (!found || compareVersions(info.version, found.version) > 0) found = info;
			} catch {
				// a broken wrapper: try the next one
			}
		}
	}
	if (!found)
		throw new BackupError('CLIENT_NOT_FOUND', `${tool} was not found on this n8n host`, installHint(serverMajor));
	if (found.major < serverMajor)
		throw new BackupError(
			'CLIENT_TOO_OLD',
			`${tool} ${found.version} (${found.path}) is older than the PostgreSQL ${serverMajor} server`,
			installHint(serverMajor),
		);
	return found;
}

export interface ServerBinaries {
	binDir: string;
	major: number;
	version: string;
}

/**
 * The server programs a restore test runs (postgres, pg_ctl, pg_controldata): of exactly the
 * backup's major, since a data folder only starts under the major that wrote it.
 */
export async function findServerBinaries(major: number, folder?: string): Promise<ServerBinaries> {
	const candidates = folder?.trim() ? [folder.trim()] : versionedFolder(major);
	for (const binDir of candidates) {
		if (!(await executable(join(binDir, 'postgres'))) || !(await executable(join(binDir, 'pg_ctl')))) continue;
		const info = await toolVersion(join(binDir, 'postgres'));
		if (info.major !== major)
			throw new BackupError(
				'CLIENT_NOT_FOUND',
				`${binDir}/postgres is PostgreSQL ${info.version}; the backup needs PostgreSQL ${major}`,
				`Point the server folder at PostgreSQL ${major}'s programs (Debian/Ubuntu: apt-get install postgresql-${major}; they land in /usr/lib/postgresql/${major}/bin).`,
			);
		return { binDir, major, version: info.version };
	}
	throw new BackupError(
		'CLIENT_NOT_FOUND',
		`PostgreSQL ${major} server programs (postgres, pg_ctl) were not found${folder?.trim() ? ` in ${folder.trim()}` : ` in ${versionedFolder(major).join(' or ')}`}`,
		`A restore test starts a private PostgreSQL ${major} on the n8n host: install its server package (Debian/Ubuntu: apt-get install postgresql-${major}; Docker: see the README's Dockerfile example), or set the server folder.`,
	);
}

export interface RunOptions {
	env?: NodeJS.ProcessEnv;
	cwd?: string;
	signal?: AbortSignal;
	/** Killed (SIGTERM, then SIGKILL) when it runs longer: every program this engine runs has a bound. */
	timeoutMs: number;
	/** Each complete stderr line, e.g. for progress or parsing. */
	onStderrLine?: (line: string) => void;
}

export interface RunResult {
	code: number | null;
	/** The last bytes of stderr (and stdout), for error messages. */
	output: BoundedTail;
	timedOut: boolean;
	aborted: boolean;
}

/** Spawns a program without a shell; never rejects on a non-zero exit (callers word the error). */
export function runTool(file: string, args: string[], options: RunOptions): Promise<RunResult> {
	return new Promise((resolve, reject) => {
		const child = spawn(file, args, {
			env: options.env ?? { PATH: process.env.PATH, LANG: 'C', LC_ALL: 'C' },
			cwd: options.cwd,
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		const output = new BoundedTail();
		let pending = '';
		let timedOut = false;
		let aborted = false;
		const onData = (chunk: Buffer) => {
			output.push(chunk);
			if (!options.onStderrLine) return;
			pending += chunk.toString('utf8');
			const lines = pending.split(/\r?\n|\r/);
			pending = lines.pop() ?? '';
			for (const line of lines) if (line) options.onStderrLine(line);
		};
		child.stdout.on('data', onData);
		child.stderr.on('data', onData);
		let killTimer: NodeJS.Timeout | undefined;
		const stop = () => {
			child.kill('SIGTERM');
			killTimer ??= setTimeout(() => child.kill('SIGKILL'), 10_000);
		};
		const timer = setTimeout(() => {
			timedOut = true;
			stop();
		}, options.timeoutMs);
		const onAbort = () => {
			aborted = true;
			stop();
		};
		if (options.signal?.aborted) onAbort();
		options.signal?.addEventListener('abort', onAbort, { once: true });
		child.on('error', (error) => {
			clearTimeout(timer);
			clearTimeout(killTimer);
			options.signal?.removeEventListener('abort', onAbort);
			reject(
				new BackupError(
					'CLIENT_NOT_FOUND',
					`Could not run ${file}: ${error.message}`,
					'Check that the program is installed and executable.',
					{
						cause: error,
					},
				),
			);
		});
		child.on('close', (code) => {
			clearTimeout(timer);
			clearTimeout(killTimer);
			options.signal?.removeEventListener('abort', onAbort);
			if (pending && options.onStderrLine) options.onStderrLine(pending);
			resolve({ code, output, timedOut, aborted });
		});
	});
}

/**
 * A libpq tool's failure in words a DBA can act on. The common replication failures (pg_hba.conf,
 * the REPLICATION attribute, too few WAL senders, a slot in use or gone) each get their fix.
 */
export function libpqFailure(tool: string, output: string, user: string, fallbackHint: string): BackupError {
	const detail = output.trim().split('\n').slice(-6).join('\n');
	if (/no pg_hba\.conf entry for replication connection/i.test(output))
		return new BackupError(
			'PERMISSION_DENIED',
			`${tool}: the server's pg_hba.conf does not allow replication connections for user "${user}" from this host: ${detail}`,
			`Add a line like "host replication ${user} <n8n host address>/32 scram-sha-256" to pg_hba.conf on the database server and reload it (SELECT pg_reload_conf()).`,
		);
	if (/must be superuser or replication role|permission denied to start WAL sender|must have REPLICATION/i.test(output))
		return new BackupError(
			'PERMISSION_DENIED',
			`${tool}: user "${user}" may not use replication: ${detail}`,
			`Give the backup role the REPLICATION attribute: ALTER ROLE "${user}" REPLICATION; (or use a superuser).`,
		);
	if (/password authentication failed|authentication failed/i.test(output))
		return new BackupError(
			'AUTH_FAILED',
			`${tool}: the server refused user "${user}": ${detail}`,
			'Check the user and password in the credential.',
		);
	if (/number of requested standby connections exceeds max_wal_senders|max_wal_senders/i.test(output))
		return new BackupError(
			'PERMISSION_DENIED',
			`${tool}: no WAL sender free on the server: ${detail}`,
			'Raise max_wal_senders on the database server (a restart is needed), or stop other replication clients.',
		);
	if (/replication slot ".*" is active/i.test(output))
		return new BackupError(
			'LOCKED',
			`${tool}: the replication slot is in use by another process: ${detail}`,
			'Another backup of this environment is collecting WAL, or an old pg_receivewal still runs on some host: wait for it, or stop it (pg_terminate_backend on the pid shown in pg_replication_slots.active_pid).',
		);
	if (/has already been removed|replication slot ".*" does not exist|cannot be used because|invalidated/i.test(output))
		return new BackupError(
			'BACKUP_CHAIN_BROKEN',
			`${tool}: WAL the chain needs is no longer on the server: ${detail}`,
			'The point-in-time chain is broken: start a new base backup (a full). To keep it from happening, run the incremental more often than max_slot_wal_keep_size fills.',
		);
	if (/could not connect|Connection refused|could not translate host name|timeout expired/i.test(output))
		return new BackupError(
			'UNREACHABLE',
			`${tool}: cannot reach the server: ${detail}`,
			'Check host, port, that PostgreSQL is running, and firewalls.',
		);
	if (/No space left on device|Disk quota exceeded/i.test(output))
		return new BackupError(
			'DISK_FULL',
			`${tool}: the staging disk is full: ${detail}`,
			'Free space or choose a staging folder on a larger disk; the unfinished set was removed.',
		);
	return new BackupError('DUMP_FAILED', `${tool} failed: ${detail}`, fallbackHint);
}
