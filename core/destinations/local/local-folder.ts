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
	type Destination,
	type GetResult,
	type LocalFolderConfig,
	type PutOptions,
	type PutResult,
	type RemoteEntry,
	type RemoteFileInfo,
	type TransferOptions,
} from '../destination';
import { checkRemoteCopy, DigestingMeter } from '../verification';
import { downloadToLocal } from '../local-download';

export class LocalFolderDestination implements Destination {
	readonly kind = 'local' as const;
	readonly exclusiveCreate = 'atomic' as const;
	private readonly root: string;

	constructor(config: LocalFolderConfig) {
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

	async put(localFile: string, remotePath: string, options: PutOptions = {}): Promise<PutResult> {
		const started = Date.now();
		const target = this.full(remotePath);
		const partial = this.full(partialName(normalizeRemotePath(remotePath)));
		try {
			await fsp.mkdir(path.dirname(target), { recursive: true });
			const meter = new DigestingMeter(options.onProgress);
			// A restart, not a resume: a local copy is cheap and a stale partial may be anything.
			await pipeline(
				createReadStream(localFile, { highWaterMark: 1 << 20 }),
				meter,
				createWriteStream(partial, { flags: 'w', mode: 0o640, highWaterMark: 1 << 20 }),
				{ signal: options.signal },
			);
			const handle = await fsp.open(partial, 'r');
			try {
				await handle.sync();
			} finally {
				await handle.close();
			}
			const local = meter.digest();
			if (options.expectedSha256 && options.expectedSha256 !== local.sha256) {
				throw new BackupError(
					'VERIFY_FAILED',
					`Local file ${localFile} has SHA-256 ${local.sha256}, expected ${options.expectedSha256}`,
					'The staged file changed after it was made; run Verify on the set.',
				);
			}
			// Read the partial back: on a network share the size alone proves little.
			const remote = await this.hashPartial(partial);
			const verifiedBy = checkRemoteCopy(local, remote, `${this.describe()}/${remotePath}`);
			await fsp.rename(partial, target);
			return {
				remotePath,
				bytes: local.bytes,
				sha256: local.sha256,
				verifiedBy: verifiedBy === 'sha256' ? 'read-back' : verifiedBy,
				remote,
				resumedFrom: 0,
				durationMs: Date.now() - started,
			};
		} catch (error) {
			if (error instanceof BackupError) throw error;
			throw this.fail(error, 'write', remotePath);
		}
	}

	private async hashPartial(file: string): Promise<RemoteFileInfo> {
		const meter = new DigestingMeter();
		await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), meter, async (source) => {
			for await (const _ of source) void _;
		});
		const digest = meter.digest();
		return { size: digest.bytes, sha256: digest.sha256, md5: digest.md5 };
	}

	async get(remotePath: string, localFile: string, options: TransferOptions = {}): Promise<GetResult> {
		const source = this.full(remotePath);
		const info = await this.stat(remotePath);
		if (!info)
			throw new BackupError(
				'SET_NOT_FOUND',
				`No file ${this.describe()}/${remotePath}`,
				'List the destination to see which sets it holds.',
			);
		return downloadToLocal(() => createReadStream(source, { highWaterMark: 1 << 20 }), localFile, info.size, options);
	}

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
		await fsp.mkdir(path.dirname(target), { recursive: true });
		// Write the whole content under a unique name, then link(): atomic and fails if the name
		// exists, so a reader never sees a half-written lock (plain O_EXCL would allow that).
		const temp = `${path.dirname(target)}/.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`;
		try {
			await fsp.writeFile(temp, content, { flag: 'wx', mode: 0o640 });
			await fsp.link(temp, target);
			return true;
		} catch (error) {
			if (systemErrorCode(error) === 'EEXIST') return false;
			throw this.fail(error, 'create', remotePath);
		} finally {
			await fsp.rm(temp, { force: true });
		}
	}

	async readSmallFile(remotePath: string, maxBytes = 1 << 20): Promise<Buffer | null> {
		const info = await this.stat(remotePath);
		if (!info) return null;
		if (info.size > maxBytes)
			throw new BackupError(
				'INVALID_INPUT',
				`${this.describe()}/${remotePath} is ${info.size} bytes, more than the ${maxBytes} expected`,
				'This is not the small file expected here (lock or manifest); check the destination.',
			);
		return fsp.readFile(this.full(remotePath));
	}

	async close(): Promise<void> {}
}
