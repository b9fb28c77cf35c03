import { execFile } from 'node:child_process';
import { access, readdir } from 'node:fs/promises';
import { constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { BackupError } from '../../errors';

const run = promisify(execFile);

export type ClientTool = 'pg_dump' | 'pg_restore';

export interface ClientToolInfo {
	path: string;
	/** "15.18" */
	version: string;
	major: number;
}

/** Where distributions put versioned client binaries, besides PATH. */
const VERSIONED_FOLDERS = [
	{ parent: '/usr/lib/postgresql', bin: 'bin' }, // Debian, Ubuntu
	{ parent: '/usr', prefix: 'pgsql-', bin: 'bin' }, // RHEL PGDG: /usr/pgsql-16/bin
	{ parent: '/opt/homebrew/opt', prefix: 'postgresql@', bin: 'bin' },
];

export async function toolVersion(path: string): Promise<ClientToolInfo> {
	const { stdout } = await run(path, ['--version'], { timeout: 15_000 });
	// "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" or "pg_dump (PostgreSQL) 17devel"
	const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(stdout);
	if (!match) throw new Error(`unexpected output of ${path} --version: ${stdout.trim()}`);
	return { path, version: match[2] ? `${match[1]}.${match[2]}` : match[1], major: Number(match[1]) };
}

async function executable(path: string): Promise<boolean> {
	try {
		await access(path, constants.X_OK);
		return true;
	} catch {
		return false;
	}
}

async function candidateFolders(): Promise<string[]> {
	const folders = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
	for (const { parent, prefix = '', bin } of VERSIONED_FOLDERS) {
		try {
			for (const name of await readdir(parent)) {
				if (name.startsWith(prefix) && /\d/.test(name)) folders.push(join(parent, name, bin));
			}
		} catch {
			// folder absent on this system
		}
	}
	return [...new Set(folders)];
}

/**
 * Finds pg_dump or pg_restore: in `folder` when the user named one, else the newest one on
 * PATH or in the usual versioned folders (a newer client dumps older servers; never the
 * reverse).
 */
export async function findClientTool(tool: ClientTool, folder?: string): Promise<ClientToolInfo> {
	if (folder?.trim()) {
		const path = join(folder.trim(), tool);
		if (!(await executable(path)))
			throw new BackupError(
				'CLIENT_NOT_FOUND',
				`${tool} was not found in ${folder.trim()}`,
				'Fix "PostgreSQL Client Folder" in the credential, or leave it empty to search PATH and /usr/lib/postgresql/*/bin.',
			);
		return toolVersion(path);
	}
	let best: ClientToolInfo | undefined;
	for (const candidateFolder of await candidateFolders()) {
		const path = join(candidateFolder, tool);
		if (!(await executable(path))) continue;
		try {
			const info = await toolVersion(path);
			if (!best || compareVersions(info.version, best.version) > 0) best = info;
		} catch {
			// a broken wrapper script: try the next one
		}
	}
	if (!best)
		throw new BackupError(
			'CLIENT_NOT_FOUND',
			`${tool} was not found on this n8n host`,
			'Install the PostgreSQL client tools of the server\'s major version or newer (Debian/Ubuntu: apt-get install postgresql-client-16; Docker n8n image: apk add postgresql16-client), or set "PostgreSQL Client Folder" in the credential.',
		);
	return best;
}

export function compareVersions(a: string, b: string): number {
	const pa = a.split('.').map(Number);
	const pb = b.split('.').map(Number);
	for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
		const d = (pa[i] ?? 0) - (pb[i] ?? 0);
		if (d !== 0) return d;
	}
	return 0;
}

/** pg_dump refuses servers newer than itself; say so before anything is written. */
export function requireClientForServer(
	client: ClientToolInfo,
	tool: ClientTool,
	serverMajor: number,
	serverVersion: string,
) {
	if (client.major < serverMajor)
		throw new BackupError(
			'CLIENT_TOO_OLD',
			`${tool} ${client.version} (${client.path}) is older than the PostgreSQL ${serverVersion} server and cannot dump it`,
			`Install the PostgreSQL ${serverMajor} client tools or newer on the n8n host (Debian/Ubuntu: apt-get install postgresql-client-${serverMajor}; n8n Docker image: apk add postgresql${serverMajor}-client) and, if they are not on PATH, set "PostgreSQL Client Folder" in the credential.`,
		);
}
