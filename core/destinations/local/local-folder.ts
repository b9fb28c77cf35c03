/**
 * A folder on this machine: a local disk or a mounted SMB / NFS share. Same atomic protocol as
 * the remote backends (partial name in the same folder, fsync, rename), so a share that drops
 * mid-copy never shows an incomplete file under its final name.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BackupError, systemErrorCode } from '../../errors';
import {
	normalizeRemotePath,
	partialName,
	type LocalFolderConfig,
	type RemoteEntry,
	type RemoteFileInfo,
} from '../destination';
import type { PartialUpload, TransferDriver } from '../driver';
import { DigestingMeter } from '../verification';
import { VerifiedDestination } from '../verified-destination';
import { fsyncFile } from '../verified-get';
import { sha256Of } from '../stream-guard';

/** What we write is readable by the n8n user only (the umask can only narrow these). */
const PRIVATE_FILE = 0o600;
const PRIVATE_FOLDER = 0o700;

/** chmod, best effort: some network shares (CIFS without unix extensions) refuse it and keep their own modes. */
async function makePrivate(file: string, mode: number): Promise<void> {
	await fsp.chmod(file, mode).catch(() => undefined);
}

export class LocalFolderDestination extends VerifiedDestination {
	readonly kind = 'local' as const;
	readonly exclusiveCreate = 'atomic' as const;
	private readonly root: string;

	constructor(config: LocalFolderConfig) {
		super();
		if (!path.isAbsolute(config.folder)) {
			throw new BackupError(
				'INVALID_INPUT',
				`Destination folder "${config.folder}" is not an absolute path`,
				'Give the full path of the folder or mounted share, e.g. /mnt/backup.',
			);
		}
		this.root = path.resolve(config.folder);
	}

	describe(): string {
		return `file://${this.root}`;
	}

	private full(remotePath: string, allowRoot = false): string {
		return path.join(this.root, ...normalizeRemotePath(remotePath, { allowRoot }).split('/'));
	}

	private fail(error: unknown, action: string, remotePath: string): BackupError {
		if (error instanceof BackupError) return error;
		const where = `${this.describe()}/${remotePath}`;
		const code = systemErrorCode(error);
		if (code === 'ENOSPC' || code === 'EDQUOT') {
			return new BackupError(
				'DISK_FULL',
				`No space left to ${action} ${where}`,
				'Free space on the destination (or run Prune), or choose a larger destination.',
				{ cause: error },
			);
		}
		if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
			return new BackupError(
				'PERMISSION_DENIED',
				`Not allowed to ${action} ${where} (${code})`,
				'Give the n8n user write access to the destination folder, or check that the share is mounted read-write.',
				{ cause: error },
			);
		}
		return new BackupError(
			'TRANSFER_FAILED',
			`Could not ${action} ${where}: ${(error as Error).message}`,
			'Check that the folder (or network share) is mounted and reachable, then run again.',
			{ cause: error },
		);
	}

	/* ---------------------------------------------------------------- the driver for verified put / get */

	protected readonly driver: TransferDriver = {
		describe: () => this.describe(),
		offersRemoteHash: () => false,
		// On a network share the size alone proves little, and reading back is cheap here.
		readBackByDefault: true,
		beginPut: async (rel, localFile) => {
			await fsp.mkdir(path.dirname(this.full(rel)), { recursive: true, mode: PRIVATE_FOLDER });
			return this.partialUpload(rel, localFile);
		},
		statFile: (rel) => this.stat(rel),
		openRead: async (rel) => createReadStream(this.full(rel), { highWaterMark: 1 << 20 }),
		toBackupError: (error, action, rel) => this.fail(error, action === 'upload' ? 'write' : action, rel),
	};

	private partialUpload(rel: string, localFile: string): PartialUpload {
		const partial = this.full(partialName(rel));
		return {
			// Always a restart: a local copy is cheap, and a stale partial may be anything.
			resumable: 0,
			send: async (_offset, options) => {
				const meter = new DigestingMeter(options.onProgress);
				await pipeline(
					createReadStream(localFile, { highWaterMark: 1 << 20 }),
					meter,
					createWriteStream(partial, { flags: 'w', mode: PRIVATE_FILE, highWaterMark: 1 << 20 }),
					{ signal: options.signal },
				);
				await fsyncFile(partial);
				return { digest: meter.digest(), from: 0 };
			},
			stat: async () => ({ size: (await fsp.stat(partial)).size }),
			readBack: (options) =>
				sha256Of(createReadStream(partial, { highWaterMark: 1 << 20, signal: options.signal }), partial, undefined),
			commit: async () => {
				// A partial left by an earlier attempt kept its old mode through the 'w' open.
				await makePrivate(partial, PRIVATE_FILE);
				await fsp.rename(partial, this.full(rel));
				return { modifiedAt: (await fsp.stat(this.full(rel))).mtime };
			},
			discard: () => fsp.rm(partial, { force: true }),
		};
	}

	/* ---------------------------------------------------------------- Destination */

	async list(folder: string): Promise<RemoteEntry[]> {
		const rel = normalizeRemotePath(folder, { allowRoot: true });
		let dirents;
		try {
			dirents = await fsp.readdir(this.full(rel, true), { withFileTypes: true });
		} catch (error) {
			if (systemErrorCode(error) === 'ENOENT') return [];
			throw this.fail(error, 'list', rel);
		}
		const entries: RemoteEntry[] = [];
		for (const dirent of dirents) {
			const entryPath = rel ? `${rel}/${dirent.name}` : dirent.name;
			const st = await fsp.stat(this.full(entryPath)).catch(() => null);
			if (!st) continue;
			entries.push({
				name: dirent.name,
				path: entryPath,
				isFolder: st.isDirectory(),
				size: st.isDirectory() ? 0 : st.size,
				modifiedAt: st.mtime,
			});
		}
		return entries;
	}

	async stat(remotePath: string): Promise<RemoteFileInfo | null> {
		try {
			const st = await fsp.stat(this.full(remotePath));
			return st.isFile() ? { size: st.size, modifiedAt: st.mtime } : null;
		} catch (error) {
			if (systemErrorCode(error) === 'ENOENT') return null;
			throw this.fail(error, 'read', remotePath);
		}
	}

	async remove(remotePath: string): Promise<void> {
		await fsp.rm(this.full(remotePath), { force: true }).catch((error) => {
			throw this.fail(error, 'delete', remotePath);
		});
	}

	async removeFolder(remotePath: string): Promise<void> {
		await fsp.rm(this.full(remotePath), { recursive: true, force: true }).catch((error) => {
			throw this.fail(error, 'delete', remotePath);
		});
	}

	async createExclusive(remotePath: string, content: string | Buffer): Promise<boolean> {
		const target = this.full(remotePath);
		await fsp.mkdir(path.dirname(target), { recursive: true, mode: PRIVATE_FOLDER });
		// Write the whole content under a unique name, then link(): atomic and fails if the name
		// exists, so a reader never sees a half-written lock (plain O_EXCL would allow that).
		const temp = `${path.dirname(target)}/.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`;
		try {
			await fsp.writeFile(temp, content, { flag: 'wx', mode: PRIVATE_FILE });
			await fsp.link(temp, target);
			return true;
		} catch (error) {
			if (systemErrorCode(error) === 'EEXIST') return false;
			throw this.fail(error, 'create', remotePath);
		} finally {
			await fsp.rm(temp, { force: true });
		}
	}

	async close(): Promise<void> {}
}
