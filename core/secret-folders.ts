/**
 * Private temporary folders that hold a secret for a child process: the SSH key and askpass of
 * the OpenSSH fast path (totvs-sftp-), the pgpass of pg_dump / pg_restore (totvs-pg-). Each is
 * 0700 in os.tmpdir() (its files 0600), so only this user can read what is in it, and records
 * its owner (`<pid> <host> <process start time>`) before any secret is written.
 *
 * A worker killed with SIGKILL runs no cleanup: its folder stays, secret and all. The next start
 * of any TOTVS node (and the next SFTP connection) sweeps the folders whose owner is gone
 * (sweepStaleSecretFolders): only our prefixes, only real folders of this user, never a folder
 * of a live process or of another host, never following a symbolic link.
 */
import { constants as fsConstants, promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Our prefixes, each with the files a folder of that kind held before owner records existed.
 * A folder without an owner record is removed only when it holds nothing else: a folder of
 * someone else that happens to share the prefix (a test server's data folder is `totvs-pg-…`)
 * is never ours to remove. Folders with a record are ours whatever they hold.
 */
const KINDS = {
	'totvs-sftp-': ['id', 'known_hosts', 'askpass'],
	'totvs-pg-': ['pgpass', 'root.crt'],
	// A sealed SQL Server backup decrypted into the shared folder while SQL Server reads it
	// (core/sources/sqlserver/restore/readable-backup.ts); swept in that folder, not in tmp.
	'.totvs-decrypted-': [],
} as const satisfies Record<string, readonly string[]>;

export type SecretFolderPrefix = keyof typeof KINDS;

const OWNER_FILE = 'owner';
/** A folder without an owner record is left alone this long (a process may be creating it). */
export const UNOWNED_MAX_AGE_MS = 60 * 60 * 1000;
/** sweepStaleSecretFoldersOccasionally runs at most this often per process. */
export const SWEEP_INTERVAL_MS = 5 * 60 * 1000;

/** When a process started (Linux: clock ticks since boot), so a reused pid is not taken for its owner. */
function processStartTime(pid: number): string | undefined {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		// The command name (2nd field) may hold spaces and parentheses: count fields after the last ')'.
		return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
	} catch {
		return undefined;
	}
}

/** `<pid> <host> <start time>`: who may still use a folder. */
function ownerRecord(): string {
	return `${process.pid} ${os.hostname()} ${processStartTime(process.pid) ?? ''}\n`;
}

/**
 * Whether the process an owner record names still runs: undefined when the record cannot be
 * read, 'elsewhere' when it ran on another host (its pid means nothing here).
 */
function ownerAlive(record: string | undefined): boolean | 'elsewhere' | undefined {
	const match = record === undefined ? null : /^(\d+) (\S+)(?: (\d*))?\s*$/.exec(record);
	if (!match) return undefined;
	const [, pidText, host, start] = match;
	const pid = Number(pidText);
	if (host !== os.hostname()) return 'elsewhere';
	if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
	try {
		process.kill(pid, 0);
	} catch (error) {
		// EPERM: it runs, as another user.
		if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
	}
	const now = processStartTime(pid);
	return !(start && now !== undefined && now !== start);
}

/**
 * A new private folder `<tmp>/<prefix>XXXXXX` (0700) with its owner record already in it:
 * write secrets into it with mode 0600, and remove it when done.
 */
export async function createSecretFolder(prefix: SecretFolderPrefix, tmp = os.tmpdir()): Promise<string> {
	// mkdtemp makes it 0700; chmod says so whatever the platform. The record comes first, so a sweep can tell.
	const folder = await fsp.mkdtemp(path.join(tmp, prefix));
	try {
		await fsp.chmod(folder, 0o700);
		await fsp.writeFile(path.join(folder, OWNER_FILE), ownerRecord(), { mode: 0o600, flag: 'wx' });
	} catch (error) {
		await fsp.rm(folder, { recursive: true, force: true }).catch(() => undefined);
		throw error;
	}
	return folder;
}

/** The owner record, read without following a link and without blocking on a FIFO. */
async function readOwner(folder: string): Promise<string | undefined> {
	const flags = fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0) | (fsConstants.O_NONBLOCK ?? 0);
	const handle = await fsp.open(path.join(folder, OWNER_FILE), flags).catch(() => undefined);
	if (!handle) return undefined;
	try {
		if (!(await handle.stat()).isFile()) return undefined;
		const buffer = Buffer.alloc(256);
		const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
		return buffer.toString('utf8', 0, bytesRead);
	} catch {
		return undefined;
	} finally {
		await handle.close().catch(() => undefined);
	}
}

/** Whether a folder without an owner record holds only what a folder of its kind held. */
async function onlyKnownFiles(folder: string, known: readonly string[]): Promise<boolean> {
	const names = await fsp.readdir(folder).catch(() => undefined);
	return names !== undefined && names.every((name) => name === OWNER_FILE || known.includes(name));
}

/**
 * Removes our secret folders in `tmp` that no running process uses any more: those whose
 * recorded owner is gone from this host, and, without a readable owner record, those older than
 * UNOWNED_MAX_AGE_MS that hold only files of their kind. Only real folders (not links) owned by
 * this user are looked at. Returns the folders removed.
 */
export async function sweepStaleSecretFolders(tmp = os.tmpdir(), now = Date.now()): Promise<string[]> {
	const removed: string[] = [];
	const uid = process.getuid?.();
	for (const name of await fsp.readdir(tmp)) {
		const prefix = (Object.keys(KINDS) as SecretFolderPrefix[]).find((p) => name.startsWith(p));
		if (!prefix) continue;
		const folder = path.join(tmp, name);
		const st = await fsp.lstat(folder).catch(() => undefined);
		if (!st?.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
		const alive = ownerAlive(await readOwner(folder));
		const stale =
			alive === false ||
			(alive === undefined && now - st.mtimeMs > UNOWNED_MAX_AGE_MS && (await onlyKnownFiles(folder, KINDS[prefix])));
		if (!stale) continue;
		// rm removes links inside a folder, never what they point to.
		const gone = await fsp.rm(folder, { recursive: true, force: true }).then(
			() => true,
			() => false,
		);
		if (gone) removed.push(folder);
	}
	return removed;
}

let lastSweepAt: number | undefined;

/**
 * sweepStaleSecretFolders of os.tmpdir(), at most once per SWEEP_INTERVAL_MS in this process
 * (a node start calls it; a readdir of the temporary folder is cheap). [] when skipped.
 */
export async function sweepStaleSecretFoldersOccasionally(now = Date.now()): Promise<string[]> {
	if (lastSweepAt !== undefined && now >= lastSweepAt && now - lastSweepAt < SWEEP_INTERVAL_MS) return [];
	lastSweepAt = now;
	return sweepStaleSecretFolders(os.tmpdir(), now);
}
